package serving

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"connectrpc.com/connect"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tide-live/tide/ingest"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/proto/tide/v1/tidev1connect"
	"github.com/tide-live/tide/serving/auth"
	"github.com/tide-live/tide/serving/callerfacts"
)

// MaxTrackBatch is the most events one Track call may carry.
const MaxTrackBatch = 500

// Producer is what Track needs of a Kafka client; *kgo.Client is one.
type Producer interface {
	ProduceSync(ctx context.Context, rs ...*kgo.Record) kgo.ProduceResults
}

// EventService implements tide.v1.EventService: it validates events, stamps
// received_at and puts them on the events topic, keyed by ingest.Key.
type EventService struct {
	tidev1connect.UnimplementedEventServiceHandler

	producer Producer
	topic    string
	limits   ingest.Limits
	timeout  time.Duration
	recent   *recentIDs
	now      func() time.Time
	log      *slog.Logger
	stamp    func(*tidev1.Event)
	facts    *callerfacts.Stamper
	events   *prometheus.CounterVec
	batch    prometheus.Histogram
}

// TrackOption configures an EventService.
type TrackOption func(*EventService)

// WithTopic sets the events topic (default ingest.DefaultEventsTopic).
func WithTopic(topic string) TrackOption { return func(s *EventService) { s.topic = topic } }

// WithLimits sets the validation limits (default ingest.DefaultLimits()).
func WithLimits(l ingest.Limits) TrackOption { return func(s *EventService) { s.limits = l } }

// WithProduceTimeout bounds how long Track waits for the broker before it
// answers unavailable (default 10s).
func WithProduceTimeout(d time.Duration) TrackOption {
	return func(s *EventService) { s.timeout = d }
}

// WithDedupeWindow sets how many recent event_ids Track remembers to drop
// retried events (default 1<<20, about 12 MiB; 0 disables). See Track.
func WithDedupeWindow(n int) TrackOption {
	return func(s *EventService) {
		s.recent = nil
		if n > 0 {
			s.recent = newRecentIDs(n)
		}
	}
}

// WithClock sets the clock events are judged against and stamped with.
func WithClock(now func() time.Time) TrackOption { return func(s *EventService) { s.now = now } }

// WithEventStamp runs stamp on every event of a batch after the caller's
// identity was applied and the client's experiments were cleared, before
// validation; the A/B assigner uses it to put the server's arms on the
// events (experiment.Assigner.Stamp).
func WithEventStamp(stamp func(*tidev1.Event)) TrackOption {
	return func(s *EventService) { s.stamp = stamp }
}

// WithCallerFacts makes Track stamp the caller's facts on every event
// (callerfacts: the client's hashed IP and the account's creation time).
// Without it Track still removes a client's attrs["ip"] and
// attrs["acct_created"]: only the server states them.
func WithCallerFacts(f *callerfacts.Stamper) TrackOption {
	return func(s *EventService) { s.facts = f }
}

// WithTrackLogger sets the logger.
func WithTrackLogger(l *slog.Logger) TrackOption { return func(s *EventService) { s.log = l } }

// NewEventService builds the Track service on producer and registers its
// metrics (tide_track_events_total, tide_track_batch_events) with reg.
func NewEventService(producer Producer, reg prometheus.Registerer, opts ...TrackOption) *EventService {
	s := &EventService{
		producer: producer,
		topic:    ingest.DefaultEventsTopic,
		limits:   ingest.DefaultLimits(),
		timeout:  10 * time.Second,
		recent:   newRecentIDs(1 << 20),
		now:      time.Now,
		log:      slog.Default(),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tide_track_events_total",
			Help: "Events received by Track, by result: accepted (on the topic), duplicate (a retry " +
				"of an event already on the topic, not produced again), rejected (in a batch refused " +
				"as invalid), failed (the topic did not acknowledge; the client retries).",
		}, []string{"result"}),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tide_track_batch_events",
			Help:    "Events per Track call.",
			Buckets: []float64{1, 5, 10, 25, 50, 100, 200, 300, 400, 500},
		}),
	}
	for _, o := range opts {
		o(s)
	}
	reg.MustRegister(s.events, s.batch)
	return s
}

// Mount mounts the service on srv with the server's Connect options.
func (s *EventService) Mount(srv *Server) {
	srv.Mount(tidev1connect.NewEventServiceHandler(s, srv.ConnectOptions()...))
}

// Track validates the whole batch first: one bad event refuses the batch
// with invalid_argument naming it ("events[3].ts: … is 2h0m0s in the
// future"), and so do an empty batch and one of more than MaxTrackBatch
// events. Events of server-only types (ingest.ServerOnly: orders, gifts,
// streams, product changes, exposures) refuse the batch with
// permission_denied whoever calls, admins included: the server produces them.
// A client's experiments never survive: Track clears them and the event
// stamp (WithEventStamp) puts the server's assignment in their place. Nor do
// a client's attrs["ip"] and attrs["acct_created"]: Track overwrites them on
// every event with the caller's facts (WithCallerFacts), for admins too, or
// removes them. It then stamps received_at, produces every event to the events
// topic keyed by ingest.Key, and answers only after the broker acknowledged
// all of them; if it did not, Track answers unavailable and the client
// retries the whole batch, which event_id makes safe.
//
// Events whose event_id Track stored recently (the dedupe window, see
// WithDedupeWindow; also repeats within one batch) are not produced again but
// count as accepted: they are on the topic. The window is best effort and
// per process; consumers still count each event_id once.
func (s *EventService) Track(ctx context.Context, req *connect.Request[tidev1.TrackRequest]) (*connect.Response[tidev1.TrackResponse], error) {
	events := req.Msg.GetEvents()
	s.batch.Observe(float64(len(events)))
	switch n := len(events); {
	case n == 0:
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("events: empty batch, send 1 to 500 events"))
	case n > MaxTrackBatch:
		s.events.WithLabelValues("rejected").Add(float64(n))
		return nil, connect.NewError(connect.CodeInvalidArgument,
			fmt.Errorf("events: %d events in one batch, more than %d; split it", n, MaxTrackBatch))
	}
	if err := stampCaller(ctx, events); err != nil {
		s.events.WithLabelValues("rejected").Add(float64(len(events)))
		return nil, err
	}
	var facts callerfacts.Facts
	if s.facts != nil {
		facts = s.facts.Facts(ctx, req.Peer().Addr, req.Header())
	}
	facts.Stamp(events...) // before Validate: the stamped attrs count against MaxAttrs as ingest counts them
	for _, e := range events {
		e.Experiments = nil // arms are the server's to assign
		if s.stamp != nil {
			s.stamp(e)
		}
	}
	now := s.now()
	for i, e := range events {
		if err := s.limits.Validate(e, now); err != nil {
			s.events.WithLabelValues("rejected").Add(float64(len(events)))
			return nil, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("events[%d].%w", i, err))
		}
	}

	ids := make([]string, len(events))
	for i, e := range events {
		ids[i] = e.GetEventId()
	}
	dup := make([]bool, len(events))
	if s.recent != nil {
		s.recent.seen(ids, dup)
	}
	inBatch := make(map[string]struct{}, len(events))
	records := make([]*kgo.Record, 0, len(events))
	fresh := ids[:0:0]
	stamp := now.UnixMilli()
	for i, e := range events {
		if _, again := inBatch[ids[i]]; again {
			dup[i] = true
		}
		if dup[i] {
			continue
		}
		inBatch[ids[i]] = struct{}{}
		e.ReceivedAt = stamp
		r, err := ingest.TrackRecord(s.topic, e)
		if err != nil {
			return nil, connect.NewError(connect.CodeInternal, fmt.Errorf("events[%d]: %w", i, err))
		}
		records = append(records, r)
		fresh = append(fresh, ids[i])
	}
	if len(records) > 0 {
		pctx, cancel := context.WithTimeout(ctx, s.timeout)
		err := s.producer.ProduceSync(pctx, records...).FirstErr()
		cancel()
		if err != nil {
			s.events.WithLabelValues("failed").Add(float64(len(records)))
			if ctx.Err() != nil { // the client gave up; nothing to answer
				return nil, connect.NewError(connect.CodeCanceled, ctx.Err())
			}
			s.log.WarnContext(ctx, "track: produce failed", "topic", s.topic, "events", len(records), "err", err)
			return nil, connect.NewError(connect.CodeUnavailable,
				fmt.Errorf("events topic did not acknowledge the batch (%v); retry it", err))
		}
		if s.recent != nil {
			s.recent.add(fresh)
		}
	}
	s.events.WithLabelValues("accepted").Add(float64(len(records)))
	if d := len(events) - len(records); d > 0 {
		s.events.WithLabelValues("duplicate").Add(float64(d))
	}
	return connect.NewResponse(&tidev1.TrackResponse{Accepted: int32(len(events))}), nil
}

// NewProducer connects the idempotent Kafka producer Track uses: acks from
// all in-sync replicas, records of one key in order, a short linger since
// every Track call waits for its acknowledgement.
func NewProducer(brokers []string, opts ...kgo.Opt) (*kgo.Client, error) {
	base := []kgo.Opt{
		kgo.SeedBrokers(brokers...),
		kgo.ProducerLinger(2 * time.Millisecond),
		kgo.ProducerBatchCompression(kgo.Lz4Compression(), kgo.NoCompression()),
		kgo.MaxBufferedRecords(100_000),
	}
	cl, err := kgo.NewClient(append(base, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("kafka producer: %w", err)
	}
	return cl, nil
}

// stampCaller makes the events speak for the authenticated caller, never for
// whoever the body names: a mini-program user's events carry that user's id,
// a merchant may only send events of its own merchant id. Admins (back-fills)
// and unauthenticated in-process callers are taken as they are; the auth
// interceptor refuses unauthenticated calls over the network. Whoever calls,
// only types the provenance table lets clients send pass (ingest.MaySend).
func stampCaller(ctx context.Context, events []*tidev1.Event) error {
	p, _ := auth.PrincipalFrom(ctx)
	sender := ingest.SenderAdmin
	switch p.Role {
	case auth.RoleUser:
		sender = ingest.SenderUser
	case auth.RoleMerchant:
		sender = ingest.SenderMerchant
	}
	for i, e := range events {
		if _, known := tidev1.EventType_name[int32(e.GetType())]; !known || e.GetType() == tidev1.EventType_EVENT_TYPE_UNSPECIFIED {
			continue // Validate names it
		}
		if err := ingest.CheckSender(sender, e.GetType()); err != nil {
			return connect.NewError(connect.CodePermissionDenied, fmt.Errorf("events[%d].%w", i, err))
		}
	}
	switch p.Role {
	case auth.RoleUser:
		for _, e := range events {
			e.UserId = p.UserID
		}
	case auth.RoleMerchant:
		for i, e := range events {
			if m := e.GetMerchantId(); m != "" && m != p.MerchantID {
				return connect.NewError(connect.CodePermissionDenied,
					fmt.Errorf("events[%d].merchant_id: %q is not the caller's merchant", i, m))
			}
			e.MerchantId = p.MerchantID
		}
	}
	return nil
}
