package commerce

import (
	"strings"
	"time"
)

// Logistics is how an order reaches the buyer.
type Logistics string

// Logistics kinds (WeChat's logistics_type 1, 3 and 4).
const (
	// Express: a courier with a tracking number.
	Express Logistics = "express"
	// Virtual: nothing is delivered (a top-up, a code).
	Virtual Logistics = "virtual"
	// SelfPickup: the buyer collects it.
	SelfPickup Logistics = "self_pickup"
)

// Shipment is what the merchant says when it ships an order.
type Shipment struct {
	Logistics Logistics
	// ExpressCompany is WeChat's code of the courier (get_delivery_list:
	// SF, YTO, ZTO, …); TrackingNo its waybill number. Both are required
	// for Express.
	ExpressCompany string
	TrackingNo     string
	// ReceiverContact is the receiver's phone, masked (139****2901):
	// WeChat requires it for SF (顺丰).
	ReceiverContact string
}

// Normalize trims the fields and defaults the logistics to Express.
func (s *Shipment) Normalize() {
	s.Logistics = Logistics(strings.TrimSpace(string(s.Logistics)))
	if s.Logistics == "" {
		s.Logistics = Express
	}
	s.ExpressCompany = strings.ToUpper(strings.TrimSpace(s.ExpressCompany))
	s.TrackingNo = strings.TrimSpace(s.TrackingNo)
	s.ReceiverContact = strings.TrimSpace(s.ReceiverContact)
}

// Validate checks a normalized shipment; the error is a *FieldError
// naming the field.
func (s Shipment) Validate() error {
	switch {
	case s.Logistics != Express && s.Logistics != Virtual && s.Logistics != SelfPickup:
		return &FieldError{"logistics", string(s.Logistics) + " is not express, virtual or self_pickup"}
	case s.Logistics != Express:
		return nil
	case s.TrackingNo == "" || len(s.TrackingNo) > 64:
		return &FieldError{"tracking_no", "needs 1 to 64 characters"}
	case s.ExpressCompany == "" || len(s.ExpressCompany) > 32:
		return &FieldError{"express_company", "needs WeChat's code of the courier (SF, YTO, ZTO, …)"}
	case s.ExpressCompany == "SF" && !MaskedPhone(s.ReceiverContact):
		return &FieldError{"receiver_contact", "SF needs the receiver's masked phone, like 139****2901"}
	case s.ReceiverContact != "" && !MaskedPhone(s.ReceiverContact):
		return &FieldError{"receiver_contact", "must be masked, like 139****2901"}
	}
	return nil
}

// MaskedPhone says whether s is a masked phone as WeChat wants it: up to
// six digits (an optional leading +), four stars, the last four digits
// (139****2901).
func MaskedPhone(s string) bool {
	s = strings.TrimPrefix(s, "+")
	head, tail, ok := strings.Cut(s, "****")
	return ok && len(head) <= 6 && len(tail) == 4 && allDigits(head) && allDigits(tail)
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// UploadState is where a shipment's upload to WeChat's shipping-info
// service is.
type UploadState string

// Upload states.
const (
	// UploadPending: not accepted yet; retried with backoff.
	UploadPending UploadState = "pending"
	// Uploaded: WeChat accepted it.
	Uploaded UploadState = "uploaded"
	// UploadFailed: WeChat refused it for good; the merchant ships again
	// with the fix.
	UploadFailed UploadState = "failed"
	// UploadNotRequired: nothing was paid through WeChat Pay (a presale
	// balance of 0).
	UploadNotRequired UploadState = "not_required"
)

// ShipmentRecord is an order's recorded shipment and its upload.
type ShipmentRecord struct {
	OrderID string
	Shipment
	ItemDesc    string
	ShippedAt   time.Time
	UploadState UploadState
	UploadTries int
	UploadError string
	UploadedAt  time.Time
}
