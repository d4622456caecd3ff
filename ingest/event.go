package ingest

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// Default topic names.
const (
	DefaultEventsTopic     = "tide.events"
	DefaultDeadLetterTopic = "tide.events.dlq"
)

// plausibleSpan is how far from the reference time, in milliseconds, a ts can
// be before it is not a time but a mistake (seconds or microseconds sent).
const plausibleSpan = 100 * 365 * 24 * 3600 * 1000

// ErrInvalidEvent is wrapped by every validation failure.
var ErrInvalidEvent = errors.New("invalid event")

// FieldError names the field of an event that failed validation and why.
type FieldError struct {
	Field  string // e.g. "ts", "attrs.order_id"
	Reason string // e.g. "missing"
}

// Error returns "field: reason".
func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Is reports that a FieldError is an ErrInvalidEvent.
func (e *FieldError) Is(target error) bool { return target == ErrInvalidEvent }

// Limits bound what one event may carry. The zero value is not useful; start
// from DefaultLimits.
type Limits struct {
	MaxIDBytes    int           // event_id, user_id, … (bytes)
	MaxTextBytes  int           // chat messages and queries (bytes)
	MaxAttrs      int           // entries in attrs
	MaxAttrBytes  int           // one attrs key or value (bytes)
	MaxExperiment int           // entries in experiments
	MaxFuture     time.Duration // how far ts may be ahead of the reference time
	MaxPast       time.Duration // how far ts may be behind the reference time
	MaxValue      int64         // fen, milliseconds or counts
}

// DefaultLimits are the limits the Track RPC and the ingester apply.
func DefaultLimits() Limits {
	return Limits{
		MaxIDBytes:    128,
		MaxTextBytes:  1024,
		MaxAttrs:      32,
		MaxAttrBytes:  256,
		MaxExperiment: 16,
		MaxFuture:     10 * time.Minute,
		MaxPast:       7 * 24 * time.Hour,
		MaxValue:      100_000_000_00, // 100 million yuan in fen; also > 3 years of dwell in ms
	}
}

// Validate checks e against the limits and the per-type rules. ref is the
// time ts is judged against: now when an event arrives, its received_at when
// an already accepted event is re-read from Kafka (so replaying old data never
// turns valid events invalid). The error is a *FieldError.
func (l Limits) Validate(e *tidev1.Event, ref time.Time) error {
	if e == nil {
		return &FieldError{"event", "missing"}
	}
	if err := l.id("event_id", e.GetEventId(), true); err != nil {
		return err
	}
	t := e.GetType()
	if t == tidev1.EventType_EVENT_TYPE_UNSPECIFIED {
		return &FieldError{"type", "missing"}
	}
	if _, known := tidev1.EventType_name[int32(t)]; !known {
		return &FieldError{"type", fmt.Sprintf("unknown event type %d", int32(t))}
	}
	if e.GetTs() <= 0 {
		return &FieldError{"ts", "missing (Unix milliseconds)"}
	}
	// compare in milliseconds first: a Duration between an absurd ts and now
	// saturates and would print as 2562047h
	if ahead := e.GetTs() - ref.UnixMilli(); ahead > plausibleSpan || -ahead > plausibleSpan {
		return &FieldError{"ts", fmt.Sprintf("%d is not a plausible time in Unix milliseconds (more than 100 years from now)", e.GetTs())}
	}
	ts := time.UnixMilli(e.GetTs())
	if d := ts.Sub(ref); d > l.MaxFuture {
		return &FieldError{"ts", fmt.Sprintf("%s is %s in the future", ts.UTC().Format(time.RFC3339), d.Round(time.Second))}
	}
	if d := ref.Sub(ts); d > l.MaxPast {
		return &FieldError{"ts", fmt.Sprintf("%s is %s old, more than %s", ts.UTC().Format(time.RFC3339), d.Round(time.Second), l.MaxPast)}
	}
	for _, f := range []struct{ name, v string }{
		{"user_id", e.GetUserId()}, {"device_id", e.GetDeviceId()}, {"merchant_id", e.GetMerchantId()},
		{"room_id", e.GetRoomId()}, {"live_session_id", e.GetLiveSessionId()},
		{"product_id", e.GetProductId()}, {"request_id", e.GetRequestId()},
	} {
		if err := l.id(f.name, f.v, false); err != nil {
			return err
		}
	}
	if e.GetPosition() < 0 {
		return &FieldError{"position", "negative"}
	}
	if v := e.GetValue(); v < 0 || v > l.MaxValue {
		return &FieldError{"value", fmt.Sprintf("%d is out of range [0, %d]", v, l.MaxValue)}
	}
	if n := len(e.GetText()); n > l.MaxTextBytes {
		return &FieldError{"text", fmt.Sprintf("%d bytes, more than %d", n, l.MaxTextBytes)}
	}
	if !utf8.ValidString(e.GetText()) {
		return &FieldError{"text", "not valid UTF-8"}
	}
	if err := l.pairs("attrs", e.GetAttrs(), l.MaxAttrs); err != nil {
		return err
	}
	if err := l.pairs("experiments", e.GetExperiments(), l.MaxExperiment); err != nil {
		return err
	}
	return required(e)
}

// required applies the per-type rules: who did it and to what.
func required(e *tidev1.Event) error {
	t := e.GetType()
	need := func(field, v string) error {
		if v == "" {
			return &FieldError{field, "required for " + TypeName(t)}
		}
		return nil
	}
	if Viewer(t) && e.GetUserId() == "" && e.GetDeviceId() == "" {
		return &FieldError{"user_id", "user_id or device_id is required for " + TypeName(t)}
	}
	switch t {
	case tidev1.EventType_EVENT_TYPE_ROOM_IMPRESSION, tidev1.EventType_EVENT_TYPE_ROOM_ENTER,
		tidev1.EventType_EVENT_TYPE_ROOM_LEAVE, tidev1.EventType_EVENT_TYPE_LIKE,
		tidev1.EventType_EVENT_TYPE_GIFT, tidev1.EventType_EVENT_TYPE_STREAM_START,
		tidev1.EventType_EVENT_TYPE_STREAM_END:
		return need("room_id", e.GetRoomId())
	case tidev1.EventType_EVENT_TYPE_CHAT:
		if err := need("room_id", e.GetRoomId()); err != nil {
			return err
		}
		return need("text", e.GetText())
	case tidev1.EventType_EVENT_TYPE_FOLLOW, tidev1.EventType_EVENT_TYPE_UNFOLLOW:
		return need("merchant_id", e.GetMerchantId())
	case tidev1.EventType_EVENT_TYPE_PRODUCT_IMPRESSION, tidev1.EventType_EVENT_TYPE_PRODUCT_CLICK,
		tidev1.EventType_EVENT_TYPE_ADD_TO_CART, tidev1.EventType_EVENT_TYPE_PRODUCT_CHANGED:
		return need("product_id", e.GetProductId())
	case tidev1.EventType_EVENT_TYPE_ORDER_CREATED, tidev1.EventType_EVENT_TYPE_ORDER_PAID,
		tidev1.EventType_EVENT_TYPE_ORDER_REFUNDED, tidev1.EventType_EVENT_TYPE_ORDER_CANCELLED:
		if err := need("merchant_id", e.GetMerchantId()); err != nil {
			return err
		}
		return need("attrs.order_id", e.GetAttrs()["order_id"])
	case tidev1.EventType_EVENT_TYPE_SEARCH:
		return need("text", e.GetText())
	case tidev1.EventType_EVENT_TYPE_EXPERIMENT_EXPOSURE:
		if len(e.GetExperiments()) == 0 {
			return &FieldError{"experiments", "required for " + TypeName(t)}
		}
	}
	return nil
}

func (l Limits) id(field, v string, mandatory bool) error {
	switch {
	case v == "" && mandatory:
		return &FieldError{field, "missing"}
	case len(v) > l.MaxIDBytes:
		return &FieldError{field, fmt.Sprintf("%d bytes, more than %d", len(v), l.MaxIDBytes)}
	}
	// One pass over the bytes: the ASCII control characters are single
	// bytes in UTF-8 and never occur inside a multi-byte sequence.
	ascii := true
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c < 0x20 || c == 0x7f:
			return &FieldError{field, "contains a control character"}
		case c >= 0x80:
			ascii = false
		}
	}
	if !ascii && !utf8.ValidString(v) {
		return &FieldError{field, "not valid UTF-8"}
	}
	return nil
}

func (l Limits) pairs(field string, m map[string]string, max int) error {
	if len(m) > max {
		return &FieldError{field, fmt.Sprintf("%d entries, more than %d", len(m), max)}
	}
	for k, v := range m {
		if k == "" {
			return &FieldError{field, "empty key"}
		}
		if len(k) > l.MaxAttrBytes || len(v) > l.MaxAttrBytes {
			return &FieldError{field + "." + k, fmt.Sprintf("longer than %d bytes", l.MaxAttrBytes)}
		}
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return &FieldError{field + "." + k, "not valid UTF-8"}
		}
	}
	return nil
}

// Viewer reports whether events of type t are done by a viewer, and so need a
// user_id or device_id. Stream and catalog events are done by systems.
func Viewer(t tidev1.EventType) bool {
	switch t {
	case tidev1.EventType_EVENT_TYPE_STREAM_START, tidev1.EventType_EVENT_TYPE_STREAM_END,
		tidev1.EventType_EVENT_TYPE_PRODUCT_CHANGED, tidev1.EventType_EVENT_TYPE_ROOM_CHANGED:
		return false
	}
	return true
}

// TypeName is the short lower-case name of t used in ClickHouse and reports,
// e.g. "room_enter" for EVENT_TYPE_ROOM_ENTER.
func TypeName(t tidev1.EventType) string {
	n, ok := tidev1.EventType_name[int32(t)]
	if !ok {
		return fmt.Sprintf("type_%d", int32(t))
	}
	return strings.ToLower(strings.TrimPrefix(n, "EVENT_TYPE_"))
}

// Key is the Kafka record key of e: its user, so that one user's events stay
// in order on one partition; the device for anonymous viewers; the room or
// product for system events.
func Key(e *tidev1.Event) []byte {
	for _, k := range []string{e.GetUserId(), e.GetDeviceId(), e.GetRoomId(), e.GetProductId()} {
		if k != "" {
			return []byte(k)
		}
	}
	return []byte(e.GetEventId())
}
