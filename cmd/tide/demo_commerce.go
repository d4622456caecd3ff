package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"connectrpc.com/connect"

	"github.com/tide-live/tide/commerce"
	"github.com/tide-live/tide/commerce/postgres"
	"github.com/tide-live/tide/ingest/outbox"
	"github.com/tide-live/tide/live/livesim"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/proto/tide/v1/tidev1connect"
	"github.com/tide-live/tide/serving/auth"
)

// demoStock is each demo SKU's stock: the simulation never runs out.
const demoStock = 1 << 40

// demoCommerce makes the simulation buy through CommerceService: a
// simulated order_created becomes a Submit by that user (with a session
// token signed by the server's key), its order_paid completes the payment,
// and its order_refunded becomes the buyer's RequestRefund, the merchant's
// DecideRefund (with the merchant's API key) and the refund's success, so
// the demo's orders, refunds, their events and its GMV are checkout's. The
// simulated user ids are tide user ids ("u_…", livesim.UserIDPrefix): a
// user's orders and its viewing events name it the same way.
//
// Payment and refund are completed by demo-only paths, not the WeChat Pay
// fake: pay opens the order's payment attempt and records the payment with
// Orders.MarkPaid, the same paid transition (row lock, amount check, stock
// sold, ORDER_PAID in the outbox in the same transaction) a verified WeChat
// Pay notify drives; a refund is recorded with Orders.RefundSent as the
// provider's immediate SUCCESS, the transition (ORDER_REFUNDED in the outbox)
// the refund sender drives. The fake (wechatpaytest) is an httptest server
// for tests; running it inside `tide demo` would add a signed HTTPS round
// trip per order that proves nothing the checkout tests do not already
// prove.
//
// Without PostgreSQL there is no checkout: the simulation's order events
// then go to the topic as the demo platform's server records
// (demoTraffic.sendPlatform), as benches and evals without PostgreSQL do.
type demoCommerce struct {
	client tidev1connect.CommerceServiceClient
	tokens *auth.Tokens
	keys   map[string]string // merchant id → its API key (demo_dashboard.go)
	orders *postgres.Orders
	store  *postgres.Store
	prices map[string]int64 // product id → SKU price
	log    *slog.Logger
	ids    sync.Map // the simulation's order id → tide order id, until refunded
}

// demoSessionKeys makes sure TIDE_SESSION_KEYS is set before the server is
// built, so the demo can sign its simulated users' tokens with the key the
// server verifies: a random key for this run when it is unset and
// TIDE_POSTGRES_URL is set. It returns the keys' tokens (nil without
// PostgreSQL).
func demoSessionKeys() (*auth.Tokens, error) {
	if os.Getenv("TIDE_POSTGRES_URL") == "" {
		return nil, nil
	}
	if os.Getenv(envSessionKeys) == "" {
		secret := make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, err
		}
		// The demo is one process: its server reads the key from the environment.
		if err := os.Setenv(envSessionKeys, "demo:"+base64.StdEncoding.EncodeToString(secret)); err != nil {
			return nil, err
		}
	}
	keys, err := auth.ParseSigningKeys(os.Getenv(envSessionKeys))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", envSessionKeys, err)
	}
	return auth.NewTokens(keys)
}

// openDemoCommerce writes the simulation's products with one SKU each (at
// the product's price, unlimited stock) and returns the buyer calling
// CommerceService at base, deciding refunds with the merchants' keys; nil
// when tokens is nil (no PostgreSQL).
func openDemoCommerce(ctx context.Context, log *slog.Logger, base string, tokens *auth.Tokens, merchantKeys map[string]string, catalog []livesim.Product) (*demoCommerce, error) {
	if tokens == nil {
		return nil, nil
	}
	store, err := postgres.Open(ctx, os.Getenv("TIDE_POSTGRES_URL"), postgres.WithLogger(log))
	if err != nil {
		return nil, fmt.Errorf("demo checkout: %w", err)
	}
	if err := store.Migrate(ctx); err != nil { // the shared outbox's migrations too
		store.Close()
		return nil, fmt.Errorf("demo checkout: %w", err)
	}
	d := &demoCommerce{tokens: tokens, keys: merchantKeys, store: store, prices: make(map[string]int64, len(catalog)), log: log,
		client: tidev1connect.NewCommerceServiceClient(&http.Client{Timeout: 30 * time.Second}, base)}
	d.orders = store.Orders(store.NewFlashSeller(), func(ctx context.Context, ex postgres.Execer, evs ...*tidev1.Event) error {
		return outbox.Add(ctx, ex, evs...)
	})
	ps := make([]commerce.Product, 0, len(catalog))
	for _, p := range catalog {
		d.prices[p.ID] = p.PriceFen
		ps = append(ps, commerce.Product{ID: p.ID, MerchantID: p.MerchantID, Title: p.Title, Category: p.Category,
			Status: commerce.OnShelf, PriceFen: p.PriceFen, SKUs: []commerce.SKU{{ID: p.ID, ProductID: p.ID, PriceFen: p.PriceFen, Stock: demoStock}}})
	}
	for i := 0; i < len(ps); i += 500 {
		if _, err := store.WriteProducts(ctx, ps[i:min(i+500, len(ps))]); err != nil {
			store.Close()
			return nil, fmt.Errorf("demo checkout products: %w", err)
		}
	}
	return d, nil
}

func (d *demoCommerce) close() { d.store.Close() }

// divert takes b's order events (created, paid, refunded) and replays them
// through checkout; the rest goes on to Track. No order event is left for
// the platform's raw records.
func (d *demoCommerce) divert(ctx context.Context, b []*tidev1.Event) []*tidev1.Event {
	rest := b[:0]
	for _, e := range b {
		var err error
		switch e.GetType() {
		case tidev1.EventType_EVENT_TYPE_ORDER_CREATED:
			err = d.submit(ctx, e)
		case tidev1.EventType_EVENT_TYPE_ORDER_PAID:
			err = d.pay(ctx, e)
		case tidev1.EventType_EVENT_TYPE_ORDER_REFUNDED:
			err = d.refund(ctx, e)
		default:
			rest = append(rest, e)
			continue
		}
		if err != nil && ctx.Err() == nil {
			d.log.Warn("demo: a simulated order through checkout", "type", e.GetType().String(), "order", e.GetAttrs()["order_id"], "err", err)
		}
	}
	return rest
}

// submit is the simulated user's Submit, keyed by the simulation's order id.
func (d *demoCommerce) submit(ctx context.Context, e *tidev1.Event) error {
	price := d.prices[e.GetProductId()]
	if price <= 0 {
		return fmt.Errorf("product %s is not in the demo catalog", e.GetProductId())
	}
	simID := e.GetAttrs()["order_id"]
	qty := max(1, e.GetValue()/price)
	req := connect.NewRequest(&tidev1.SubmitRequest{Items: []*tidev1.LineItem{{SkuId: e.GetProductId(), Quantity: qty}},
		RoomId: e.GetRoomId(), IdempotencyKey: simID})
	if err := d.authorize(req.Header(), e.GetUserId(), e.GetAttrs()["acct_created"]); err != nil {
		return err
	}
	res, err := d.client.Submit(ctx, req)
	if err != nil {
		return err
	}
	d.ids.Store(simID, res.Msg.GetOrder().GetId())
	return nil
}

// pay completes the simulated order's payment through the paid transition.
func (d *demoCommerce) pay(ctx context.Context, e *tidev1.Event) error {
	simID := e.GetAttrs()["order_id"]
	id, ok := d.ids.Load(simID)
	if !ok {
		return fmt.Errorf("order %s was not submitted through checkout", simID)
	}
	a, _, err := d.orders.OpenAttempt(ctx, e.GetUserId(), id.(string))
	if err != nil {
		return err
	}
	_, err = d.orders.MarkPaid(ctx, postgres.Payment{OutTradeNo: a.OutTradeNo, TransactionID: "demo-" + a.OutTradeNo,
		AmountFen: a.AmountFen, PaidAt: time.Now().UTC()})
	return err
}

// refund is the buyer's refund request, the merchant's approval and the
// provider's success, for the simulated order.
func (d *demoCommerce) refund(ctx context.Context, e *tidev1.Event) error {
	simID := e.GetAttrs()["order_id"]
	v, ok := d.ids.LoadAndDelete(simID)
	if !ok {
		return fmt.Errorf("order %s was not submitted through checkout", simID)
	}
	id := v.(string)
	ask := connect.NewRequest(&tidev1.RequestRefundRequest{OrderId: id, Reason: "simulated"})
	if err := d.authorize(ask.Header(), e.GetUserId(), ""); err != nil {
		return err
	}
	if _, err := d.client.RequestRefund(ctx, ask); err != nil {
		return fmt.Errorf("request refund: %w", err)
	}
	key := d.keys[e.GetMerchantId()]
	if key == "" {
		return fmt.Errorf("merchant %s has no demo API key", e.GetMerchantId())
	}
	decide := connect.NewRequest(&tidev1.DecideRefundRequest{OrderId: id, Approve: true, Note: "simulated"})
	decide.Header().Set("Authorization", "Bearer "+key)
	if _, err := d.client.DecideRefund(ctx, decide); err != nil {
		return fmt.Errorf("decide refund: %w", err)
	}
	// The approval queued the refund; the demo's provider answers SUCCESS.
	// Pending refunds are few (each is completed here at once), so the
	// order's is among the oldest.
	rs, err := d.orders.PendingRefunds(ctx, 1000)
	if err != nil {
		return err
	}
	for _, r := range rs {
		if r.OrderID == id {
			return d.orders.RefundSent(ctx, r.OutRefundNo, "SUCCESS")
		}
	}
	return fmt.Errorf("order %s: no refund was queued by the approval", id)
}

// authorize signs the simulated user's session token, with the account's
// creation time (Unix ms) when the simulation gave one, as login would.
func (d *demoCommerce) authorize(h http.Header, userID, accountCreated string) error {
	var created time.Time
	if ms, err := strconv.ParseInt(accountCreated, 10, 64); err == nil && ms > 0 {
		created = time.UnixMilli(ms)
	}
	tok, _, err := d.tokens.IssueAccount(userID, created)
	if err != nil {
		return err
	}
	h.Set("Authorization", "Bearer "+tok)
	return nil
}

// demoDiverts chains the demo's diverts (nil ones skipped).
func demoDiverts(ds ...func(context.Context, []*tidev1.Event) []*tidev1.Event) func(context.Context, []*tidev1.Event) []*tidev1.Event {
	return func(ctx context.Context, b []*tidev1.Event) []*tidev1.Event {
		for _, d := range ds {
			if d != nil && len(b) > 0 {
				b = d(ctx, b)
			}
		}
		return b
	}
}
