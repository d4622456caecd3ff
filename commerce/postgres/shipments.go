package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tide-live/tide/commerce"
	"github.com/tide-live/tide/commerce/order"
)

// shipReason is the fulfilment transition's reason.
func shipReason(sh commerce.Shipment) string {
	if sh.Logistics != commerce.Express {
		return string(sh.Logistics)
	}
	return "tracking " + sh.ExpressCompany + " " + sh.TrackingNo
}

// queueShipment writes the shipment of o and its pending upload, in Ship's
// transaction. An order nothing was paid for through WeChat Pay (a presale
// balance of 0) needs no upload.
func (r *Orders) queueShipment(ctx context.Context, tx pgx.Tx, o order.Order, sh commerce.Shipment) error {
	desc, err := itemDesc(ctx, tx, o.ID)
	if err != nil {
		return err
	}
	var wechatPaid bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM payment_attempts WHERE order_id = $1 AND state = 'paid')`, o.ID).Scan(&wechatPaid); err != nil {
		return fmt.Errorf("order %s payments: %w", o.ID, err)
	}
	state := commerce.UploadPending
	if !wechatPaid {
		state = commerce.UploadNotRequired
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO shipments (order_id, logistics, express_company, tracking_no, receiver_contact, item_desc, upload_state)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		o.ID, string(sh.Logistics), sh.ExpressCompany, sh.TrackingNo, sh.ReceiverContact, desc, string(state)); err != nil {
		return fmt.Errorf("order %s shipment: %w", o.ID, err)
	}
	return nil
}

// reship replaces the shipment of shipped order o while WeChat refuses its
// upload; otherwise the order is already shipped.
func (r *Orders) reship(ctx context.Context, tx pgx.Tx, o order.Order, sh commerce.Shipment) error {
	tag, err := tx.Exec(ctx, `
		UPDATE shipments SET logistics = $2, express_company = $3, tracking_no = $4, receiver_contact = $5, generation = generation + 1,
			shipped_at = now(), upload_state = 'pending', upload_tries = 0, upload_error = '', next_upload_at = now(), updated_at = now()
		WHERE order_id = $1 AND upload_state = 'failed'`,
		o.ID, string(sh.Logistics), sh.ExpressCompany, sh.TrackingNo, sh.ReceiverContact)
	if err != nil {
		return fmt.Errorf("order %s shipment: %w", o.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("order %s is already shipped: %w", o.ID, ErrCannotShip)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO order_transitions (order_id, machine, from_state, to_state, reason) VALUES ($1, $2, $3, $3, $4)`,
		o.ID, string(order.Fulfil), string(order.Shipped), "shipment corrected after WeChat refused it: "+shipReason(sh)); err != nil {
		return fmt.Errorf("order %s transition: %w", o.ID, err)
	}
	_, err = tx.Exec(ctx, `UPDATE orders SET tracking_no = $2, updated_at = now() WHERE id = $1`, o.ID, sh.TrackingNo)
	return err
}

// itemDesc says what is in the parcel: "title×quantity" of each line, cut
// to WeChat's 120 characters.
func itemDesc(ctx context.Context, tx pgx.Tx, orderID string) (string, error) {
	rows, err := tx.Query(ctx, `
		SELECT coalesce(p.title, l.product_id), l.quantity FROM order_lines l LEFT JOIN products p ON p.id = l.product_id
		WHERE l.order_id = $1 ORDER BY l.line_no`, orderID)
	if err != nil {
		return "", fmt.Errorf("order %s lines: %w", orderID, err)
	}
	var parts []string
	var (
		title string
		qty   int64
	)
	if _, err := pgx.ForEachRow(rows, []any{&title, &qty}, func() error {
		parts = append(parts, fmt.Sprintf("%s×%d", title, qty))
		return nil
	}); err != nil {
		return "", fmt.Errorf("order %s lines: %w", orderID, err)
	}
	desc := []rune(strings.Join(parts, "，"))
	if len(desc) > maxItemDesc {
		desc = append(desc[:maxItemDesc-1], '…')
	}
	if len(desc) == 0 {
		return orderID, nil
	}
	return string(desc), nil
}

// maxItemDesc is the longest item_desc WeChat takes, in characters.
const maxItemDesc = 120

// SetPayer records the openid an attempt was prepaid for (the payer the
// shipping upload names).
func (r *Orders) SetPayer(ctx context.Context, outTradeNo, openID string) error {
	if _, err := r.s.pool.Exec(ctx, `UPDATE payment_attempts SET payer_openid = $2 WHERE out_trade_no = $1`, outTradeNo, openID); err != nil {
		return fmt.Errorf("attempt %s payer: %w", outTradeNo, err)
	}
	return nil
}

// SetPayerIfUnknown records the payer a payment notify names for an
// attempt whose payer was not recorded at prepay.
func (r *Orders) SetPayerIfUnknown(ctx context.Context, outTradeNo, openID string) error {
	if _, err := r.s.pool.Exec(ctx, `UPDATE payment_attempts SET payer_openid = $2 WHERE out_trade_no = $1 AND payer_openid = ''`, outTradeNo, openID); err != nil {
		return fmt.Errorf("attempt %s payer: %w", outTradeNo, err)
	}
	return nil
}

// ShipmentUpload is a shipment claimed for upload, with the paid attempt
// that names it at WeChat.
type ShipmentUpload struct {
	commerce.ShipmentRecord
	// Generation is the shipment's version: an outcome is written only to
	// the version it uploaded.
	Generation    int
	OutTradeNo    string
	TransactionID string
	PayerOpenID   string
}

// ClaimShipments claims up to limit shipments due for upload, oldest
// first, with FOR UPDATE SKIP LOCKED: each is pushed lease into the future
// and its tries counted before it is returned, so a worker that dies
// mid-upload leaves it to be claimed again, and several workers share the
// queue.
func (r *Orders) ClaimShipments(ctx context.Context, limit int, lease time.Duration) ([]ShipmentUpload, error) {
	rows, err := r.s.pool.Query(ctx, `
		WITH due AS (
			SELECT order_id FROM shipments WHERE upload_state = 'pending' AND next_upload_at <= now()
			ORDER BY next_upload_at LIMIT $1 FOR UPDATE SKIP LOCKED),
		claimed AS (
			UPDATE shipments s SET next_upload_at = now() + $2::interval, upload_tries = s.upload_tries + 1, updated_at = now()
			FROM due WHERE s.order_id = due.order_id
			RETURNING s.order_id, s.logistics, s.express_company, s.tracking_no, s.receiver_contact, s.item_desc, s.shipped_at, s.upload_tries, s.generation)
		SELECT c.*, coalesce(a.out_trade_no, ''), coalesce(a.transaction_id, ''), coalesce(a.payer_openid, '')
		FROM claimed c LEFT JOIN LATERAL (
			SELECT out_trade_no, transaction_id, payer_openid FROM payment_attempts WHERE order_id = c.order_id AND state = 'paid'
			ORDER BY updated_at LIMIT 1) a ON true`, limit, lease.String())
	if err != nil {
		return nil, fmt.Errorf("claim shipments: %w", err)
	}
	us, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ShipmentUpload, error) {
		var u ShipmentUpload
		var logistics string
		err := row.Scan(&u.OrderID, &logistics, &u.ExpressCompany, &u.TrackingNo, &u.ReceiverContact, &u.ItemDesc, &u.ShippedAt, &u.UploadTries, &u.Generation,
			&u.OutTradeNo, &u.TransactionID, &u.PayerOpenID)
		u.Logistics, u.UploadState, u.ShippedAt = commerce.Logistics(logistics), commerce.UploadPending, u.ShippedAt.UTC()
		return u, err
	})
	if err != nil {
		return nil, fmt.Errorf("claim shipments: %w", err)
	}
	return us, nil
}

// ShipmentUploaded records that WeChat accepted generation gen of the
// order's shipment.
func (r *Orders) ShipmentUploaded(ctx context.Context, orderID string, gen int) error {
	return r.shipmentOutcome(ctx, orderID, gen, `upload_state = 'uploaded', upload_error = '', uploaded_at = now()`)
}

// ShipmentRetry records a transient failure of generation gen's upload;
// it is claimed again after backoff.
func (r *Orders) ShipmentRetry(ctx context.Context, orderID string, gen int, cause string, backoff time.Duration) error {
	return r.shipmentOutcome(ctx, orderID, gen, `upload_error = $3, next_upload_at = now() + $4::interval`, cause, backoff.String())
}

// ShipmentFailed records WeChat's refusal of generation gen's upload: it
// is not retried until the merchant ships the order again.
func (r *Orders) ShipmentFailed(ctx context.Context, orderID string, gen int, cause string) error {
	return r.shipmentOutcome(ctx, orderID, gen, `upload_state = 'failed', upload_error = $3`, cause)
}

func (r *Orders) shipmentOutcome(ctx context.Context, orderID string, gen int, set string, args ...any) error {
	_, err := r.s.pool.Exec(ctx, `UPDATE shipments SET `+set+`, updated_at = now() WHERE order_id = $1 AND generation = $2 AND upload_state = 'pending'`,
		append([]any{orderID, gen}, args...)...)
	if err != nil {
		return fmt.Errorf("shipment %s: %w", orderID, err)
	}
	return nil
}

// Shipment returns the order's shipment and its upload; ok is false
// before the order ships.
func (r *Orders) Shipment(ctx context.Context, orderID string) (_ commerce.ShipmentRecord, ok bool, err error) {
	var (
		s                commerce.ShipmentRecord
		logistics, state string
		uploaded         *time.Time
	)
	err = r.s.pool.QueryRow(ctx, `
		SELECT order_id, logistics, express_company, tracking_no, receiver_contact, item_desc, shipped_at, upload_state, upload_tries, upload_error, uploaded_at
		FROM shipments WHERE order_id = $1`, orderID).Scan(&s.OrderID, &logistics, &s.ExpressCompany, &s.TrackingNo, &s.ReceiverContact, &s.ItemDesc,
		&s.ShippedAt, &state, &s.UploadTries, &s.UploadError, &uploaded)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, false, nil
	}
	if err != nil {
		return s, false, fmt.Errorf("shipment %s: %w", orderID, err)
	}
	s.Logistics, s.UploadState, s.ShippedAt = commerce.Logistics(logistics), commerce.UploadState(state), s.ShippedAt.UTC()
	if uploaded != nil {
		s.UploadedAt = uploaded.UTC()
	}
	return s, true, nil
}
