package ingest

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

var refTime = time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)

// validEvent returns a valid event of type t at refTime.
func validEvent(t tidev1.EventType) *tidev1.Event {
	return &tidev1.Event{
		EventId: "ev-1", Type: t, Ts: refTime.UnixMilli(), UserId: "u1", MerchantId: "m1",
		RoomId: "r1", ProductId: "p1", Text: "你好", Attrs: map[string]string{"order_id": "o1"},
		Experiments: map[string]string{"feed_ranker": "mf"},
	}
}

func TestValidate(t *testing.T) {
	l := DefaultLimits()
	long := strings.Repeat("x", 129)
	tests := []struct {
		name  string
		edit  func(e *tidev1.Event)
		field string // "" when valid
	}{
		{"valid", func(e *tidev1.Event) {}, ""},
		{"missing event_id", func(e *tidev1.Event) { e.EventId = "" }, "event_id"},
		{"long event_id", func(e *tidev1.Event) { e.EventId = long }, "event_id"},
		{"control char in user_id", func(e *tidev1.Event) { e.UserId = "u\n1" }, "user_id"},
		{"bad UTF-8 room_id", func(e *tidev1.Event) { e.RoomId = "r\xff" }, "room_id"},
		{"unspecified type", func(e *tidev1.Event) { e.Type = 0 }, "type"},
		{"unknown type", func(e *tidev1.Event) { e.Type = 99 }, "type"},
		{"missing ts", func(e *tidev1.Event) { e.Ts = 0 }, "ts"},
		{"ts 9 minutes ahead", func(e *tidev1.Event) { e.Ts = refTime.Add(9 * time.Minute).UnixMilli() }, ""},
		{"ts 11 minutes ahead", func(e *tidev1.Event) { e.Ts = refTime.Add(11 * time.Minute).UnixMilli() }, "ts"},
		{"ts 6 days old", func(e *tidev1.Event) { e.Ts = refTime.Add(-6 * 24 * time.Hour).UnixMilli() }, ""},
		{"ts 8 days old", func(e *tidev1.Event) { e.Ts = refTime.Add(-8 * 24 * time.Hour).UnixMilli() }, "ts"},
		{"ts in microseconds", func(e *tidev1.Event) { e.Ts = refTime.UnixMicro() }, "ts"},
		{"ts max int64", func(e *tidev1.Event) { e.Ts = math.MaxInt64 }, "ts"},
		{"negative position", func(e *tidev1.Event) { e.Position = -1 }, "position"},
		{"negative value", func(e *tidev1.Event) { e.Value = -5 }, "value"},
		{"huge value", func(e *tidev1.Event) { e.Value = l.MaxValue + 1 }, "value"},
		{"long text", func(e *tidev1.Event) { e.Text = strings.Repeat("字", 400) }, "text"},
		{"bad UTF-8 text", func(e *tidev1.Event) { e.Text = "\xc3" }, "text"},
		{"empty attr key", func(e *tidev1.Event) { e.Attrs[""] = "v" }, "attrs"},
		{"long attr value", func(e *tidev1.Event) { e.Attrs["k"] = strings.Repeat("v", 257) }, "attrs.k"},
		{"too many experiments", func(e *tidev1.Event) {
			for i := range 17 {
				e.Experiments[strings.Repeat("e", i+1)] = "a"
			}
		}, "experiments"},
		{"anonymous viewer with device", func(e *tidev1.Event) { e.UserId, e.DeviceId = "", "d1" }, ""},
		{"viewer without user or device", func(e *tidev1.Event) { e.UserId = "" }, "user_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := validEvent(tidev1.EventType_EVENT_TYPE_ROOM_ENTER)
			tt.edit(e)
			checkField(t, l.Validate(e, refTime), tt.field)
		})
	}
}

func TestValidatePerType(t *testing.T) {
	l := DefaultLimits()
	tests := []struct {
		typ   tidev1.EventType
		edit  func(e *tidev1.Event)
		field string
	}{
		{tidev1.EventType_EVENT_TYPE_CHAT, func(e *tidev1.Event) { e.Text = "" }, "text"},
		{tidev1.EventType_EVENT_TYPE_CHAT, func(e *tidev1.Event) { e.RoomId = "" }, "room_id"},
		{tidev1.EventType_EVENT_TYPE_LIKE, func(e *tidev1.Event) { e.RoomId = "" }, "room_id"},
		{tidev1.EventType_EVENT_TYPE_FOLLOW, func(e *tidev1.Event) { e.MerchantId = "" }, "merchant_id"},
		{tidev1.EventType_EVENT_TYPE_PRODUCT_CLICK, func(e *tidev1.Event) { e.ProductId = "" }, "product_id"},
		{tidev1.EventType_EVENT_TYPE_ORDER_PAID, func(e *tidev1.Event) { delete(e.Attrs, "order_id") }, "attrs.order_id"},
		{tidev1.EventType_EVENT_TYPE_ORDER_PAID, func(e *tidev1.Event) { e.MerchantId = "" }, "merchant_id"},
		{tidev1.EventType_EVENT_TYPE_SEARCH, func(e *tidev1.Event) { e.Text = "" }, "text"},
		{tidev1.EventType_EVENT_TYPE_EXPERIMENT_EXPOSURE, func(e *tidev1.Event) { e.Experiments = nil }, "experiments"},
		{tidev1.EventType_EVENT_TYPE_STREAM_START, func(e *tidev1.Event) { e.UserId = "" }, ""},
		{tidev1.EventType_EVENT_TYPE_STREAM_END, func(e *tidev1.Event) { e.RoomId = "" }, "room_id"},
		{tidev1.EventType_EVENT_TYPE_PRODUCT_CHANGED, func(e *tidev1.Event) { e.UserId = "" }, ""},
	}
	for _, tt := range tests {
		t.Run(TypeName(tt.typ)+"/"+tt.field, func(t *testing.T) {
			e := validEvent(tt.typ)
			checkField(t, l.Validate(validEvent(tt.typ), refTime), "")
			tt.edit(e)
			checkField(t, l.Validate(e, refTime), tt.field)
		})
	}
	for v := range tidev1.EventType_name {
		if v == 0 {
			continue
		}
		if err := l.Validate(validEvent(tidev1.EventType(v)), refTime); err != nil {
			t.Errorf("%s: full event rejected: %v", TypeName(tidev1.EventType(v)), err)
		}
	}
}

func checkField(t *testing.T, err error, field string) {
	t.Helper()
	if field == "" {
		if err != nil {
			t.Fatalf("valid event rejected: %v", err)
		}
		return
	}
	var fe *FieldError
	if !errors.As(err, &fe) || !errors.Is(err, ErrInvalidEvent) {
		t.Fatalf("got %v, want a FieldError on %s", err, field)
	}
	if fe.Field != field {
		t.Fatalf("error on %q (%v), want %q", fe.Field, err, field)
	}
}

func TestReasonKind(t *testing.T) {
	if k := ReasonKind(&FieldError{"attrs.order_id", "x"}); k != "invalid_attrs" {
		t.Errorf("got %s", k)
	}
	if k := ReasonKind(ErrDecode); k != "decode" {
		t.Errorf("got %s", k)
	}
}

func TestKeyAndTypeName(t *testing.T) {
	if got := TypeName(tidev1.EventType_EVENT_TYPE_ROOM_ENTER); got != "room_enter" {
		t.Errorf("TypeName = %s", got)
	}
	if got := string(Key(&tidev1.Event{EventId: "e", DeviceId: "d", RoomId: "r"})); got != "d" {
		t.Errorf("Key = %s", got)
	}
	if got := string(Key(&tidev1.Event{EventId: "e"})); got != "e" {
		t.Errorf("Key = %s", got)
	}
}

func TestValidateAbsurdTsMessage(t *testing.T) {
	e := validEvent(tidev1.EventType_EVENT_TYPE_ROOM_ENTER)
	e.Ts = math.MaxInt64
	err := DefaultLimits().Validate(e, refTime)
	if err == nil || !strings.Contains(err.Error(), "not a plausible time") || strings.Contains(err.Error(), "2562047h") {
		t.Fatalf("absurd ts: %v; want a plain 'not a plausible time' message", err)
	}
}
