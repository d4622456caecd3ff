package commerce_test

import (
	"errors"
	"testing"

	"github.com/tide-live/tide/commerce"
)

func TestShipmentValidate(t *testing.T) {
	for _, c := range []struct {
		s     commerce.Shipment
		field string
	}{
		{commerce.Shipment{TrackingNo: " YT1 ", ExpressCompany: "yto"}, ""},
		{commerce.Shipment{TrackingNo: "SF1", ExpressCompany: "SF", ReceiverContact: "139****2901"}, ""},
		{commerce.Shipment{Logistics: commerce.Virtual}, ""},
		{commerce.Shipment{Logistics: "drone"}, "logistics"},
		{commerce.Shipment{ExpressCompany: "YTO"}, "tracking_no"},
		{commerce.Shipment{TrackingNo: "YT1"}, "express_company"},
		{commerce.Shipment{TrackingNo: "SF1", ExpressCompany: "SF"}, "receiver_contact"},
		{commerce.Shipment{TrackingNo: "YT1", ExpressCompany: "YTO", ReceiverContact: "13912342901"}, "receiver_contact"},
	} {
		s := c.s
		s.Normalize()
		err := s.Validate()
		var fe *commerce.FieldError
		switch {
		case c.field == "" && err != nil:
			t.Errorf("%+v: %v", c.s, err)
		case c.field != "" && (!errors.As(err, &fe) || fe.Field != c.field):
			t.Errorf("%+v: %v, want a %s error", c.s, err, c.field)
		}
	}
	for s, want := range map[string]bool{"139****2901": true, "+86139****2901": true, "****2901": true, "13912342901": false, "139****29O1": false, "": false} {
		if got := commerce.MaskedPhone(s); got != want {
			t.Errorf("MaskedPhone(%q) = %v", s, got)
		}
	}
}
