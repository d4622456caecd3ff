package ingest

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// Sender is a kind of principal that puts events on the events topic.
type Sender uint8

// Senders. User, Merchant and Admin reach the topic only through Track; Server
// is tide's own code (outbox relays, the exposure log, the demo's simulated
// platform).
const (
	SenderUser     Sender = 1 << iota // a mini-program user (session token)
	SenderMerchant                    // a merchant API key, for its own merchant id only
	SenderAdmin                       // an admin API key (back-fills)
	SenderServer                      // tide itself
)

// String names the sender.
func (s Sender) String() string {
	switch s {
	case SenderUser:
		return "user"
	case SenderMerchant:
		return "merchant"
	case SenderAdmin:
		return "admin"
	case SenderServer:
		return "server"
	}
	return fmt.Sprintf("sender(%d)", uint8(s))
}

// clients is every sender that comes in through Track.
const clients = SenderUser | SenderMerchant | SenderAdmin

// behaviour is who may send what a viewer does. Merchants and admins may
// send it too (back-fills of their own history; Track pins a merchant to its
// own merchant_id, and a user to its own user_id).
const behaviour = clients | SenderServer

// provenanceRule says who may send one event type and, for server-only
// types, who produces them (for the refusal's message).
type provenanceRule struct {
	senders  Sender
	producer string
}

// provenance is the one table of who may send which event type. Money,
// state and attribution are server-only: no client, admin included, can put
// them on the topic through Track. A type missing from the table (a new one
// added to event.proto) is server-only until someone adds it here.
var provenance = map[tidev1.EventType]provenanceRule{
	tidev1.EventType_EVENT_TYPE_ROOM_IMPRESSION:    {senders: behaviour},
	tidev1.EventType_EVENT_TYPE_ROOM_ENTER:         {senders: behaviour},
	tidev1.EventType_EVENT_TYPE_ROOM_LEAVE:         {senders: behaviour},
	tidev1.EventType_EVENT_TYPE_CHAT:               {senders: behaviour},
	tidev1.EventType_EVENT_TYPE_LIKE:               {senders: behaviour},
	tidev1.EventType_EVENT_TYPE_SHARE:              {senders: behaviour},
	tidev1.EventType_EVENT_TYPE_FOLLOW:             {senders: behaviour},
	tidev1.EventType_EVENT_TYPE_UNFOLLOW:           {senders: behaviour},
	tidev1.EventType_EVENT_TYPE_PRODUCT_IMPRESSION: {senders: behaviour},
	tidev1.EventType_EVENT_TYPE_PRODUCT_CLICK:      {senders: behaviour},
	tidev1.EventType_EVENT_TYPE_ADD_TO_CART:        {senders: behaviour},
	tidev1.EventType_EVENT_TYPE_SEARCH:             {senders: behaviour},
	tidev1.EventType_EVENT_TYPE_SEARCH_CLICK:       {senders: behaviour},

	// Gifts carry money (value in fen). Nothing server-side produces them
	// yet (a gift needs a payment), so today nobody can send one.
	tidev1.EventType_EVENT_TYPE_GIFT:                {senders: SenderServer, producer: "the gift payment service (none yet)"},
	tidev1.EventType_EVENT_TYPE_ORDER_CREATED:       {senders: SenderServer, producer: "checkout's outbox"},
	tidev1.EventType_EVENT_TYPE_ORDER_PAID:          {senders: SenderServer, producer: "checkout's outbox"},
	tidev1.EventType_EVENT_TYPE_ORDER_REFUNDED:      {senders: SenderServer, producer: "checkout's outbox"},
	tidev1.EventType_EVENT_TYPE_ORDER_CANCELLED:     {senders: SenderServer, producer: "checkout's outbox"},
	tidev1.EventType_EVENT_TYPE_STREAM_START:        {senders: SenderServer, producer: "the room registry's outbox"},
	tidev1.EventType_EVENT_TYPE_STREAM_END:          {senders: SenderServer, producer: "the room registry's outbox"},
	tidev1.EventType_EVENT_TYPE_PRODUCT_CHANGED:     {senders: SenderServer, producer: "the catalog's outbox"},
	tidev1.EventType_EVENT_TYPE_ROOM_CHANGED:        {senders: SenderServer, producer: "the room registry's outbox"},
	tidev1.EventType_EVENT_TYPE_EXPERIMENT_EXPOSURE: {senders: SenderServer, producer: "the server's A/B exposure log"},
}

// MaySend reports whether s may send events of type t.
func MaySend(s Sender, t tidev1.EventType) bool {
	return provenance[t].senders&s != 0
}

// ServerOnly reports whether only the server may produce events of type t:
// money-bearing, state and attribution types (and types not in the table).
func ServerOnly(t tidev1.EventType) bool { return provenance[t].senders&clients == 0 }

// CheckSender returns a *FieldError naming type when s may not send events of
// type t, saying who produces them.
func CheckSender(s Sender, t tidev1.EventType) error {
	if MaySend(s, t) {
		return nil
	}
	return &FieldError{"type", fmt.Sprintf("%s events are produced by %s, never sent by %ss", TypeName(t), producedBy(t), s)}
}

// producedBy names who produces events of type t, for messages.
func producedBy(t tidev1.EventType) string {
	if by := provenance[t].producer; by != "" {
		return by
	}
	return "the server"
}

// ProducerHeader is the Kafka record header naming which part of tide made
// an events-topic record. Every producer sets it: Track with ProducerTrack
// (TrackRecord), server-side producers with ProducerServer (ServerRecord).
// Ingest and the online features judge a record by it: a record of a
// server-only type that does not say ProducerServer goes to dead letters
// (and is not applied), so a hole in Track cannot reach the reports.
const ProducerHeader = "tide-producer"

// Values of ProducerHeader.
const (
	ProducerTrack  = "track"  // the Track RPC: events of users, merchants and admins
	ProducerServer = "server" // tide's own producers: outbox relays, exposures, the demo's platform
)

// TrackRecord is the events-topic record of e as Track produces it.
func TrackRecord(topic string, e *tidev1.Event) (*kgo.Record, error) {
	return record(topic, e, ProducerTrack)
}

// ServerRecord is the events-topic record of e produced by tide itself (an
// outbox relay, the exposure log): the only kind of record that may carry
// server-only types (ServerOnly).
func ServerRecord(topic string, e *tidev1.Event) (*kgo.Record, error) {
	return record(topic, e, ProducerServer)
}

func record(topic string, e *tidev1.Event, producer string) (*kgo.Record, error) {
	v, err := proto.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encode event %s: %w", e.GetEventId(), err)
	}
	return &kgo.Record{Topic: topic, Key: Key(e), Value: v, Headers: ProducerHeaders(producer)}, nil
}

// ProducerHeaders are the record headers naming producer, for producers that
// build their own records.
func ProducerHeaders(producer string) []kgo.RecordHeader {
	return []kgo.RecordHeader{{Key: ProducerHeader, Value: []byte(producer)}}
}

// CheckRecord applies the provenance table to a record of the events topic
// whose event has type t: records from Track (and, as least trusted, records
// without a ProducerHeader) may carry only what clients may send; records
// from the server anything. An unknown producer is refused. The error is a
// *FieldError.
func CheckRecord(headers []kgo.RecordHeader, t tidev1.EventType) error {
	producer := ""
	for _, h := range headers {
		if h.Key == ProducerHeader {
			producer = string(h.Value)
		}
	}
	switch producer {
	case ProducerServer:
		return nil
	case ProducerTrack, "":
		if ServerOnly(t) {
			from := "Track"
			if producer == "" {
				from = "a record without a " + ProducerHeader + " header"
			}
			return &FieldError{"type", fmt.Sprintf("%s events are produced by %s only, not by %s", TypeName(t), producedBy(t), from)}
		}
		return nil
	}
	return &FieldError{ProducerHeader, fmt.Sprintf("unknown producer %q (want %s or %s)", producer, ProducerTrack, ProducerServer)}
}
