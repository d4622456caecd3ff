package features

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"

	"github.com/tide-live/tide/ingest"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// FollowOption configures Follow.
type FollowOption func(*followConfig)

type followConfig struct {
	from     time.Time
	skew     time.Duration
	idle     time.Duration
	kopts    []kgo.Opt
	log      *slog.Logger
	onPolled func(applied int)
}

// From starts following at the events received at or after t: every
// partition starts at the first record whose Kafka timestamp is at or after
// t minus the skew (see WithTimestampSkew), and events received before t are
// skipped because WarmUp already loaded them. Pass WarmUp's result. Without
// From, Follow starts at the end of the topic.
func From(t time.Time) FollowOption { return func(c *followConfig) { c.from = t } }

// WithTimestampSkew sets how far a record's Kafka timestamp may be after its
// event's received_at (the producer stamps it a little later). Default 2 min.
func WithTimestampSkew(d time.Duration) FollowOption { return func(c *followConfig) { c.skew = d } }

// WithIdleAdvance sets how long a poll waits before Follow advances the
// watermark to the wall clock, so windows decay on a quiet topic. Default
// 500 ms; 0 turns the advance off (for replays of old data).
func WithIdleAdvance(d time.Duration) FollowOption { return func(c *followConfig) { c.idle = d } }

// WithKafkaOptions adds franz-go client options (TLS, SASL, fetch sizes).
func WithKafkaOptions(opts ...kgo.Opt) FollowOption {
	return func(c *followConfig) { c.kopts = append(c.kopts, opts...) }
}

// WithFollowLogger sets the logger (default slog.Default()).
func WithFollowLogger(l *slog.Logger) FollowOption { return func(c *followConfig) { c.log = l } }

// OnPolled is called after each poll with the number of events applied
// (tests and progress displays use it).
func OnPolled(f func(applied int)) FollowOption { return func(c *followConfig) { c.onPolled = f } }

// Follow consumes the events topic into s until ctx is done, then returns
// ctx's error. It reads every partition directly, without a consumer group:
// each serving replica keeps its own full copy of the features. Records that
// do not decode, or that the provenance table (ingest.CheckRecord) says their
// producer may not have made, are skipped (ingest dead-letters them). Every applied event's
// lag (wall clock minus received_at) goes to s.Stats().Lag.
func Follow(ctx context.Context, s *Store, brokers []string, topic string, opts ...FollowOption) error {
	c := followConfig{skew: 2 * time.Minute, idle: 500 * time.Millisecond, log: slog.Default()}
	for _, o := range opts {
		o(&c)
	}
	var cut int64
	kopts := []kgo.Opt{kgo.SeedBrokers(brokers...), kgo.FetchMaxWait(250 * time.Millisecond)}
	if c.from.IsZero() {
		kopts = append(kopts, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()))
	}
	cl, err := kgo.NewClient(append(kopts, c.kopts...)...)
	if err != nil {
		return fmt.Errorf("features: kafka client: %w", err)
	}
	defer cl.Close()
	if !c.from.IsZero() {
		// partitions start where ingest.OffsetsAfter says (not kgo's
		// AfterMilli, which can skip a record produced while it starts)
		cut = c.from.UnixMilli()
		err := ingest.ConsumeAfter(ctx, cl, topic, c.from.Add(-c.skew), func(err error) {
			c.log.Warn("features: start offsets not resolved, retrying", "topic", topic, "err", err)
		})
		if err != nil {
			return err
		}
	}

	var (
		e         tidev1.Event
		dec       = proto.UnmarshalOptions{DiscardUnknown: true}
		received  []int64
		badLogged time.Time
	)
	for {
		wait := c.idle
		if wait <= 0 {
			wait = time.Second
		}
		pctx, cancel := context.WithTimeout(ctx, wait)
		fs := cl.PollRecords(pctx, 8192)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		fs.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				c.log.Warn("features: fetch", "topic", t, "partition", p, "err", err)
			}
		})
		received = received[:0]
		bad := 0
		s.wmu.Lock()
		fs.EachRecord(func(r *kgo.Record) {
			if err := dec.Unmarshal(r.Value, &e); err != nil {
				bad++
				return
			}
			if ingest.CheckRecord(r.Headers, e.GetType()) != nil {
				bad++ // a producer that may not make it; ingest dead-letters it too
				return
			}
			if e.ReceivedAt <= 0 { // as ingest stores it
				e.ReceivedAt = r.Timestamp.UnixMilli()
			}
			if e.ReceivedAt < cut {
				return // WarmUp loaded it
			}
			s.apply(&e)
			received = append(received, e.ReceivedAt)
		})
		s.wmu.Unlock()
		now := time.Now()
		for _, t := range received {
			s.lag.observe(now.Sub(time.UnixMilli(t)))
		}
		if bad > 0 && now.Sub(badLogged) > time.Minute {
			badLogged = now
			c.log.Warn("features: skipped records that are not events", "count", bad, "topic", topic)
		}
		if fs.NumRecords() == 0 && c.idle > 0 {
			s.Advance(now)
		}
		if c.onPolled != nil {
			c.onPolled(len(received))
		}
	}
}
