package commerce

import (
	"context"
	"net/http"

	"github.com/tide-live/tide/commerce/postgres"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/serving/callerfacts"
)

// WithCallerFacts makes Submit and CancelOrder find the caller's facts
// (client IP as a keyed hash, account creation time) with s, the same
// Stamper Track uses, so the order events they write carry the attrs the
// anti-fraud rules read. The order store's EventWriter must be wrapped in
// StampCallerFacts for the facts to reach the events.
func WithCallerFacts(s *callerfacts.Stamper) Option { return func(h *Handler) { h.facts = s } }

// StampCallerFacts wraps w so that events written during a CommerceService
// request of a Handler built WithCallerFacts carry that request's caller
// facts, overwriting attrs["ip"] and attrs["acct_created"]. Events written
// outside such a request (payment notifies, timeouts) are left as they are:
// their caller is WeChat Pay or the timer, not the buyer.
func StampCallerFacts(w postgres.EventWriter) postgres.EventWriter {
	return func(ctx context.Context, ex postgres.Execer, events ...*tidev1.Event) error {
		StampFacts(ctx, events...)
		return w(ctx, ex, events...)
	}
}

// StampFacts stamps events with the caller facts of the CommerceService
// request ctx belongs to, if any: a postgres.EventStamper, for the orders
// of a flash sale, which are written a batch of requests at a time
// (postgres.WithEventStamper).
func StampFacts(ctx context.Context, events ...*tidev1.Event) {
	if f, ok := ctx.Value(factsKey{}).(callerfacts.Facts); ok {
		f.Stamp(events...)
	}
}

type factsKey struct{}

// withCallerFacts returns ctx carrying the request's caller facts, for
// StampCallerFacts; ctx itself when the handler has no Stamper.
func (h *Handler) withCallerFacts(ctx context.Context, peerAddr string, header http.Header) context.Context {
	if h.facts == nil {
		return ctx
	}
	return context.WithValue(ctx, factsKey{}, h.facts.Facts(ctx, peerAddr, header))
}
