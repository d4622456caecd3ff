// Package stream is the contract between tide's room registry and the
// streaming clouds that carry a room's video: signed push and pull URLs,
// verified callbacks turned into Signals, and the control calls that cut a
// stream.
//
// A Provider (Tencent CSS, Aliyun Live, a self-hosted nginx-rtmp) knows its
// cloud's signing and callback formats and nothing of rooms; the registry
// (package live) knows rooms and sessions and nothing of any cloud's formats.
// A provider's callback handler verifies each request, turns it into a Signal
// and hands it to a Sink, whose Decision it answers in the provider's own way
// (for nginx-rtmp, a non-2xx status refuses a push or cuts a running one).
package stream

import (
	"context"
	"net/http"
	"time"
)

// Kind is what a Signal reports.
type Kind int

// Kinds of signal.
const (
	KindUnknown    Kind = iota
	KindPublish         // a push connected: the stream is on air
	KindDisconnect      // the push disconnected; Blip says whether it may come back
	KindRecord          // a recording of the stream is ready (the replay, 回放)
	KindModeration      // a moderation verdict on the stream's picture or sound
	KindUpdate          // a running push asks whether it may go on (nginx-rtmp on_update)
)

// String names the kind.
func (k Kind) String() string {
	switch k {
	case KindPublish:
		return "publish"
	case KindDisconnect:
		return "disconnect"
	case KindRecord:
		return "record"
	case KindModeration:
		return "moderation"
	case KindUpdate:
		return "update"
	}
	return "unknown"
}

// Verdict is a moderation outcome.
type Verdict int

// Verdicts, from harmless to banned.
const (
	VerdictPass   Verdict = iota // nothing to do
	VerdictReview                // a person must look: queued for an operator, not acted on
	VerdictBlock                 // ban the session now
)

// String names the verdict.
func (v Verdict) String() string {
	switch v {
	case VerdictReview:
		return "review"
	case VerdictBlock:
		return "block"
	}
	return "pass"
}

// Signal is one verified callback from a provider, in provider-neutral form.
type Signal struct {
	// ID identifies this callback; a provider's retry of the same callback has
	// the same ID, so the Sink can apply it once.
	ID string
	// Provider names the provider that sent it ("tencent", "aliyun", "nginx").
	Provider string
	Kind     Kind
	// Stream is the stream name the push URL was issued for.
	Stream string
	// Sequence is the provider's id of one push (Tencent's sequence, nginx-rtmp's
	// client id): a disconnect names the push it ends, so a late disconnect of an
	// old push cannot end a newer one.
	Sequence string
	// At is when the provider says it happened.
	At time.Time
	// Reason explains a disconnect or a refusal, with the provider's code.
	Reason string
	// Blip is true for a disconnect that may be a network blip (client or
	// network error rather than a deliberate stop): the session pauses and ends
	// only if the push does not come back within the grace period.
	Blip bool
	// ReplayURL and ReplayDuration describe a recording (KindRecord).
	ReplayURL      string
	ReplayDuration time.Duration
	// Verdict, Label and Score describe a moderation verdict (KindModeration).
	Verdict Verdict
	Label   string
	Score   float64
}

// Decision is the Sink's answer to a signal.
type Decision struct {
	// Allow is false when the push must be refused or cut (an unknown or
	// banned stream, a session not scheduled, a forbidden room).
	Allow bool
	// Reason says why, for the provider's log and for metrics.
	Reason string
}

// Sink receives verified signals. Apply must be idempotent under Signal.ID
// and must tolerate signals out of order.
type Sink interface {
	Apply(ctx context.Context, s Signal) (Decision, error)
}

// PullURLs are the signed, expiring play addresses of a stream.
type PullURLs struct {
	FLV     string // HTTP-FLV
	HLS     string // HLS (.m3u8)
	RTMP    string // RTMP, where the provider serves it
	Expires time.Time
}

// Provider is one streaming cloud.
type Provider interface {
	// Name is the provider's short name ("tencent", "aliyun", "nginx").
	Name() string
	// PushURL returns the signed RTMP address an anchor pushes stream to,
	// valid until expires.
	PushURL(stream string, expires time.Time) (string, error)
	// PullURLs returns the signed play addresses of stream, valid until expires.
	PullURLs(stream string, expires time.Time) (PullURLs, error)
	// Callbacks returns the HTTP handler for the provider's callbacks: it
	// refuses forged or expired requests, passes verified ones to sink, and
	// answers within the provider's deadline.
	Callbacks(sink Sink) http.Handler
	// Drop cuts the current push of stream; the anchor may push again.
	Drop(ctx context.Context, stream string) error
	// Forbid cuts stream and refuses it until Resume (a ban).
	Forbid(ctx context.Context, stream, reason string) error
	// Resume lifts a Forbid.
	Resume(ctx context.Context, stream string) error
}
