package live

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// Errors wrapped by the registry and by validation, so callers can map them
// to their own codes (LiveService maps them to Connect codes).
var (
	ErrNotFound     = errors.New("not found")
	ErrPermission   = errors.New("permission denied")
	ErrPrecondition = errors.New("failed precondition")
	ErrInvalid      = errors.New("invalid argument")
)

// FieldError is bad input in one named field. errors.Is(err, ErrInvalid) is
// true for it.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Is makes a FieldError an ErrInvalid.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

// Invalid returns a *FieldError for field.
func Invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Limits on what a merchant may set.
const (
	MaxTitleRunes = 40
	MaxNameRunes  = 20
	MaxShelf      = 100 // products on one room's shelf
	// MaxSessionLength is the longest window a session may be scheduled for.
	MaxSessionLength = 24 * time.Hour
	// MaxScheduleAhead is how far ahead a session may be scheduled.
	MaxScheduleAhead = 180 * 24 * time.Hour
)

// Room is a live room (直播间), owned by one merchant.
type Room struct {
	ID         string
	MerchantID string
	Title      string
	CoverURL   string
	Category   string
	AnchorName string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Validate checks what a merchant sets on a room, naming the bad field.
func (r Room) Validate() error {
	switch {
	case strings.TrimSpace(r.Title) == "":
		return Invalid("title", "is empty")
	case utf8.RuneCountInString(r.Title) > MaxTitleRunes:
		return Invalid("title", "is longer than %d characters", MaxTitleRunes)
	case utf8.RuneCountInString(r.AnchorName) > MaxNameRunes:
		return Invalid("anchor_name", "is longer than %d characters", MaxNameRunes)
	case utf8.RuneCountInString(r.Category) > MaxNameRunes:
		return Invalid("category", "is longer than %d characters", MaxNameRunes)
	}
	if r.CoverURL != "" {
		u, err := url.Parse(r.CoverURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return Invalid("cover_url", "is not an http(s) URL")
		}
	}
	return nil
}

// Session is one broadcast of a room: its 预告 window, what actually
// happened, and the stream it is pushed on.
type Session struct {
	ID             string
	RoomID         string
	MerchantID     string
	ScheduledStart time.Time
	ScheduledEnd   time.Time
	StartedAt      time.Time // zero until the first push
	EndedAt        time.Time // zero until it ends (or is banned)
	State          State
	Provider       string // the streaming cloud ("nginx", "tencent", "aliyun")
	Stream         string // the stream name push and pull URLs are issued for
	// Sequence is the provider's id of the push on air now; a disconnect of
	// another push is ignored.
	Sequence string
	// PausedAt is when a blip paused the session (zero unless paused).
	PausedAt  time.Time
	BanReason string
	UpdatedAt time.Time
}

// ValidateWindow checks a session's scheduled window against now, naming
// the bad field: the start not in the past (a minute of slack for clocks),
// not too far ahead, the end after the start and within MaxSessionLength.
func ValidateWindow(now, start, end time.Time) error {
	switch {
	case start.IsZero():
		return Invalid("start_time", "is not set")
	case end.IsZero():
		return Invalid("end_time", "is not set")
	case start.Before(now.Add(-time.Minute)):
		return Invalid("start_time", "%s is in the past", start.UTC().Format(time.RFC3339))
	case start.After(now.Add(MaxScheduleAhead)):
		return Invalid("start_time", "is more than %d days ahead", int(MaxScheduleAhead.Hours()/24))
	case !end.After(start):
		return Invalid("end_time", "is not after start_time")
	case end.Sub(start) > MaxSessionLength:
		return Invalid("end_time", "the session is longer than %s", MaxSessionLength)
	}
	return nil
}

// ShelfLine is one product pinned to a room's shelf (小黄车), in the order
// the merchant set; at most one line of a room is being explained (讲解中).
type ShelfLine struct {
	RoomID     string
	ProductID  string
	Position   int
	Explaining bool
}

// ValidateShelf checks a shelf the merchant sets, in its order: not over
// MaxShelf, no empty or repeated product ids.
func ValidateShelf(productIDs []string) error {
	if len(productIDs) > MaxShelf {
		return Invalid("product_ids", "has %d products; a shelf holds at most %d", len(productIDs), MaxShelf)
	}
	seen := make(map[string]bool, len(productIDs))
	for i, id := range productIDs {
		switch {
		case id == "":
			return Invalid("product_ids", "item %d is empty", i)
		case seen[id]:
			return Invalid("product_ids", "%q appears twice", id)
		}
		seen[id] = true
	}
	return nil
}

// Replay is a recording of a session (回放).
type Replay struct {
	SessionID string
	URL       string
	Duration  time.Duration
	CreatedAt time.Time
}

// Review is a moderation verdict a person must look at, queued for an
// operator and not acted on.
type Review struct {
	ID        int64
	SessionID string
	RoomID    string
	Provider  string
	Label     string
	Score     float64
	At        time.Time
}

// DefaultGrace is how long a paused session waits for its push to come back
// before it ends.
const DefaultGrace = 60 * time.Second
