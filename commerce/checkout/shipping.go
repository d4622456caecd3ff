package checkout

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tide-live/tide/commerce"
	"github.com/tide-live/tide/commerce/postgres"
	"github.com/tide-live/tide/commerce/wxship"
)

// ShippingUploads uploads recorded shipments to WeChat's shipping-info
// service: the queue Ship writes (postgres.Orders.ClaimShipments), retried
// with backoff while WeChat is down or busy, and marked failed — visible on
// the order, until the merchant ships it again — when WeChat refuses one.
type ShippingUploads struct {
	orders   *postgres.Orders
	wx       *wxship.Client
	mchID    string
	log      *slog.Logger
	lease    time.Duration
	maxTries int
	backoff  func(tries int) time.Duration
}

// ShippingOption configures ShippingUploads.
type ShippingOption func(*ShippingUploads)

// WithUploadBackoff sets the wait after a failed try (tries counts it;
// default 5 s doubling to at most 1 h).
func WithUploadBackoff(f func(tries int) time.Duration) ShippingOption {
	return func(s *ShippingUploads) { s.backoff = f }
}

// WithUploadMaxTries sets how many tries a shipment gets before a
// transient failure is recorded as failed (default 30, about a day with
// the default backoff).
func WithUploadMaxTries(n int) ShippingOption {
	return func(s *ShippingUploads) { s.maxTries = n }
}

// NewShippingUploads returns the uploader over the order store and WeChat;
// mchID is the WeChat Pay merchant id, naming an order that has no
// transaction id.
func NewShippingUploads(orders *postgres.Orders, wx *wxship.Client, mchID string, log *slog.Logger, opts ...ShippingOption) *ShippingUploads {
	if log == nil {
		log = slog.Default()
	}
	s := &ShippingUploads{orders: orders, wx: wx, mchID: mchID, log: log, lease: 2 * time.Minute, maxTries: 30, backoff: defaultUploadBackoff}
	for _, o := range opts {
		o(s)
	}
	return s
}

func defaultUploadBackoff(tries int) time.Duration {
	d := 5 * time.Second
	for i := 1; i < tries && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}

// logisticsType is WeChat's logistics_type of l (0, refused by Validate,
// for none).
func logisticsType(l commerce.Logistics) wxship.Logistics {
	switch l {
	case commerce.Express:
		return wxship.Express
	case commerce.Virtual:
		return wxship.Virtual
	case commerce.SelfPickup:
		return wxship.SelfPickup
	}
	return 0
}

// Upload sends up to limit due shipments and returns how many WeChat
// accepted.
func (s *ShippingUploads) Upload(ctx context.Context, limit int) (int, error) {
	us, err := s.orders.ClaimShipments(ctx, limit, s.lease)
	if err != nil {
		return 0, err
	}
	accepted := 0
	for _, u := range us {
		ok, err := s.upload(ctx, u)
		if err != nil {
			return accepted, err
		}
		if ok {
			accepted++
		}
	}
	return accepted, nil
}

// upload sends one claimed shipment and records the outcome.
func (s *ShippingUploads) upload(ctx context.Context, u postgres.ShipmentUpload) (bool, error) {
	if u.PayerOpenID == "" {
		return false, s.orders.ShipmentFailed(ctx, u.OrderID, u.Generation,
			"the payer's openid was not recorded when the order was paid: enter this shipment in the mini-program admin (发货信息管理)")
	}
	sh := wxship.Shipping{TransactionID: u.TransactionID, MchID: s.mchID, OutTradeNo: u.OutTradeNo, Logistics: logisticsType(u.Logistics),
		TrackingNo: u.TrackingNo, ExpressCompany: u.ExpressCompany, ItemDesc: u.ItemDesc, ReceiverContact: u.ReceiverContact,
		PayerOpenID: u.PayerOpenID, UploadTime: u.ShippedAt}
	if err := sh.Validate(); err != nil {
		return false, s.orders.ShipmentFailed(ctx, u.OrderID, u.Generation, err.Error())
	}
	err := s.wx.Upload(ctx, sh)
	switch {
	case err == nil:
		return true, s.orders.ShipmentUploaded(ctx, u.OrderID, u.Generation)
	case ctx.Err() != nil:
		return false, ctx.Err() // the lease brings it back
	case wxship.Permanent(err):
		s.log.Warn("checkout: WeChat refused a shipment; the merchant must ship it again", "order", u.OrderID, "err", err)
		return false, s.orders.ShipmentFailed(ctx, u.OrderID, u.Generation, err.Error())
	case u.UploadTries >= s.maxTries:
		return false, s.orders.ShipmentFailed(ctx, u.OrderID, u.Generation, fmt.Sprintf("gave up after %d tries: %v", u.UploadTries, err))
	}
	wait := s.backoff(u.UploadTries)
	s.log.Info("checkout: shipment upload will be retried", "order", u.OrderID, "tries", u.UploadTries, "in", wait, "err", err)
	return false, s.orders.ShipmentRetry(ctx, u.OrderID, u.Generation, err.Error(), wait)
}

// Run uploads due shipments every interval until ctx ends.
func (s *ShippingUploads) Run(ctx context.Context, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := s.Upload(ctx, 100); err != nil && !errors.Is(err, context.Canceled) {
			s.log.Error("checkout: shipping uploads", "err", err)
		} else if n > 0 {
			s.log.Info("checkout: shipments uploaded to WeChat", "shipments", n)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
