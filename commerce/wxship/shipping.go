package wxship

import (
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/tide-live/tide/commerce"
)

// Logistics is how an order is delivered (WeChat's logistics_type).
type Logistics int

// Logistics types tide uses.
const (
	// Express: a courier with a tracking number (1, 实体物流配送).
	Express Logistics = 1
	// Virtual: nothing to deliver (3, 虚拟商品).
	Virtual Logistics = 3
	// SelfPickup: the buyer collects it (4, 用户自提).
	SelfPickup Logistics = 4
)

// MaxItemDesc is the longest item_desc WeChat takes, in characters.
const MaxItemDesc = 120

// Shipping is one order's shipment, shipped at once (delivery_mode 1,
// 统一发货). The order is named by its WeChat Pay transaction id
// (order_number_type 2) or, without one, by MchID and OutTradeNo (1).
type Shipping struct {
	TransactionID string
	MchID         string
	OutTradeNo    string
	Logistics     Logistics
	// TrackingNo and ExpressCompany (WeChat's code, get_delivery_list) are
	// required for Express.
	TrackingNo     string
	ExpressCompany string
	// ItemDesc says what is in the parcel, at most MaxItemDesc characters.
	ItemDesc string
	// ReceiverContact is the receiver's masked phone (139****2901),
	// required when ExpressCompany is SF (顺丰).
	ReceiverContact string
	// PayerOpenID is the payer's openid in this mini-program.
	PayerOpenID string
	// UploadTime orders uploads of one order: a correction needs a later one.
	UploadTime time.Time
}

// Validate checks what WeChat would refuse; the error names the field.
func (s Shipping) Validate() error {
	switch {
	case s.TransactionID == "" && (s.MchID == "" || s.OutTradeNo == ""):
		return fmt.Errorf("wxship: order_key: needs transaction_id, or mchid and out_trade_no")
	case s.Logistics != Express && s.Logistics != Virtual && s.Logistics != SelfPickup:
		return fmt.Errorf("wxship: logistics_type: %d is not 1, 3 or 4", s.Logistics)
	case s.Logistics == Express && (s.TrackingNo == "" || len(s.TrackingNo) > 128):
		return fmt.Errorf("wxship: tracking_no: needs 1 to 128 bytes for an express shipment")
	case s.Logistics == Express && (s.ExpressCompany == "" || len(s.ExpressCompany) > 128):
		return fmt.Errorf("wxship: express_company: needs 1 to 128 bytes for an express shipment")
	case s.ItemDesc == "" || utf8.RuneCountInString(s.ItemDesc) > MaxItemDesc:
		return fmt.Errorf("wxship: item_desc: needs 1 to %d characters", MaxItemDesc)
	case s.ExpressCompany == "SF" && !commerce.MaskedPhone(s.ReceiverContact):
		return fmt.Errorf("wxship: contact.receiver_contact: SF needs the receiver's masked phone (139****2901)")
	case s.PayerOpenID == "":
		return fmt.Errorf("wxship: payer.openid: is empty")
	case s.UploadTime.IsZero():
		return fmt.Errorf("wxship: upload_time: is zero")
	}
	return nil
}

// The request body of upload_shipping_info.
type (
	uploadRequest struct {
		OrderKey      orderKey       `json:"order_key"`
		LogisticsType int            `json:"logistics_type"`
		DeliveryMode  int            `json:"delivery_mode"`
		ShippingList  []shippingItem `json:"shipping_list"`
		UploadTime    string         `json:"upload_time"`
		Payer         payer          `json:"payer"`
	}
	orderKey struct {
		OrderNumberType int    `json:"order_number_type"`
		TransactionID   string `json:"transaction_id,omitempty"`
		MchID           string `json:"mchid,omitempty"`
		OutTradeNo      string `json:"out_trade_no,omitempty"`
	}
	shippingItem struct {
		TrackingNo     string   `json:"tracking_no,omitempty"`
		ExpressCompany string   `json:"express_company,omitempty"`
		ItemDesc       string   `json:"item_desc"`
		Contact        *contact `json:"contact,omitempty"`
	}
	contact struct {
		ConsignorContact string `json:"consignor_contact,omitempty"`
		ReceiverContact  string `json:"receiver_contact,omitempty"`
	}
	payer struct {
		OpenID string `json:"openid"`
	}
)

func (s Shipping) request() uploadRequest {
	key := orderKey{OrderNumberType: 2, TransactionID: s.TransactionID}
	if s.TransactionID == "" {
		key = orderKey{OrderNumberType: 1, MchID: s.MchID, OutTradeNo: s.OutTradeNo}
	}
	item := shippingItem{ItemDesc: s.ItemDesc}
	if s.Logistics == Express {
		item.TrackingNo, item.ExpressCompany = s.TrackingNo, s.ExpressCompany
		if s.ReceiverContact != "" {
			item.Contact = &contact{ReceiverContact: s.ReceiverContact}
		}
	}
	// upload_time in UTC+8, the zone of WeChat's examples.
	return uploadRequest{OrderKey: key, LogisticsType: int(s.Logistics), DeliveryMode: 1, ShippingList: []shippingItem{item},
		UploadTime: s.UploadTime.In(time.FixedZone("CST", 8*60*60)).Format("2006-01-02T15:04:05.000Z07:00"), Payer: payer{OpenID: s.PayerOpenID}}
}
