package outbox

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tide-live/tide/ingest"
)

// Relay publishes pending outbox rows to Kafka, in outbox order, and marks
// them sent once the broker acknowledged them (at-least-once: see the
// package comment).
//
// Several relays (one per `tide serve` replica) may run on one database:
// each claims a batch with FOR UPDATE SKIP LOCKED, so a row is published by
// one relay in the normal path, and a relay leaves out rows whose key has an
// earlier pending row it did not claim, so one key's events stay in order.
type Relay struct {
	pool      *pgxpool.Pool
	kc        *kgo.Client
	topic     string
	batch     int
	poll      time.Duration
	retention time.Duration
	log       *slog.Logger
	// afterProduce, when set (tests), runs after the broker acknowledged a
	// batch and before it is marked sent; an error aborts the transaction,
	// as a crash there would.
	afterProduce func() error
}

// RelayOption configures a Relay.
type RelayOption func(*Relay)

// WithTopic sets the events topic (default ingest.DefaultEventsTopic).
func WithTopic(t string) RelayOption { return func(r *Relay) { r.topic = t } }

// WithBatch sets how many rows one transaction publishes (default 500).
func WithBatch(n int) RelayOption { return func(r *Relay) { r.batch = max(1, n) } }

// WithPollInterval sets how often Run looks for pending rows when no NOTIFY
// woke it (default 1s).
func WithPollInterval(d time.Duration) RelayOption { return func(r *Relay) { r.poll = d } }

// WithRetention sets how long Run keeps sent rows before deleting them
// (default 24h; 0 keeps them).
func WithRetention(d time.Duration) RelayOption { return func(r *Relay) { r.retention = d } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) RelayOption { return func(r *Relay) { r.log = l } }

// NewRelay returns a relay from the outbox in pool to Kafka through kc.
func NewRelay(pool *pgxpool.Pool, kc *kgo.Client, opts ...RelayOption) *Relay {
	r := &Relay{pool: pool, kc: kc, topic: ingest.DefaultEventsTopic, batch: 500, poll: time.Second,
		retention: 24 * time.Hour, log: slog.Default()}
	for _, o := range opts {
		o(r)
	}
	return r
}

// claim locks up to batch pending rows, skipping rows other relays hold and
// rows that must wait for an earlier row of their key held by another relay.
const claim = `
WITH c AS MATERIALIZED (
	SELECT id, event_type, key, payload FROM event_outbox
	WHERE sent_at IS NULL ORDER BY id LIMIT $1
	FOR UPDATE SKIP LOCKED
)
SELECT c.id, c.event_type, c.key, c.payload FROM c
WHERE NOT EXISTS (
	SELECT 1 FROM event_outbox o
	WHERE o.sent_at IS NULL AND o.key = c.key AND o.id < c.id
		AND o.id NOT IN (SELECT id FROM c))
ORDER BY c.id`

// PublishOnce publishes one batch of pending rows and reports how many it
// published. Zero means nothing was pending that this relay could take.
func (r *Relay) PublishOnce(ctx context.Context) (int, error) {
	tx, err := r.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("outbox relay: begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	rows, err := tx.Query(ctx, claim, r.batch)
	if err != nil {
		return 0, fmt.Errorf("outbox relay: claim: %w", err)
	}
	var ids []int64
	var recs []*kgo.Record
	for rows.Next() {
		var id int64
		var typ string
		var key, payload []byte
		if err := rows.Scan(&id, &typ, &key, &payload); err != nil {
			rows.Close()
			return 0, fmt.Errorf("outbox relay: claim: %w", err)
		}
		ids = append(ids, id)
		recs = append(recs, &kgo.Record{Topic: r.topic, Key: key, Value: payload,
			Headers: append(ingest.ProducerHeaders(ingest.ProducerServer), kgo.RecordHeader{Key: TypeHeader, Value: []byte(typ)})})
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("outbox relay: claim: %w", err)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	if err := r.kc.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return 0, fmt.Errorf("outbox relay: publish %d events: %w", len(recs), err)
	}
	if r.afterProduce != nil {
		if err := r.afterProduce(); err != nil {
			return 0, err
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE event_outbox SET sent_at = now() WHERE id = ANY($1)`, ids); err != nil {
		return 0, fmt.Errorf("outbox relay: mark sent: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("outbox relay: commit: %w", err)
	}
	return len(ids), nil
}

// Drain publishes until nothing is pending that this relay can take, and
// reports how many rows it published.
func (r *Relay) Drain(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := r.PublishOnce(ctx)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}

// Run publishes pending rows until ctx ends: at once when a writer's NOTIFY
// arrives, otherwise every poll interval; it prunes sent rows hourly.
// Publishing errors are logged and retried with backoff; Run returns nil
// when ctx is done.
func (r *Relay) Run(ctx context.Context) error {
	wake := make(chan struct{}, 1)
	go Listen(ctx, r.pool, wake, r.log, "outbox relay")
	tick := time.NewTicker(r.poll)
	defer tick.Stop()
	var lastPrune time.Time
	backoff := 100 * time.Millisecond
	for {
		if _, err := r.Drain(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("outbox relay: publish failed; will retry", "err", err, "in", backoff)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 10*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		if r.retention > 0 && time.Since(lastPrune) > time.Hour {
			lastPrune = time.Now()
			if n, err := PruneSent(ctx, r.pool, r.retention); err != nil {
				r.log.Warn("outbox relay: prune failed", "err", err)
			} else if n > 0 {
				r.log.Info("outbox relay: pruned sent rows", "rows", n)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-tick.C:
		}
	}
}

// NewKafkaClient returns a producer suited to a relay: idempotent, acks
// from all in-sync replicas, records of one key on one partition in order.
func NewKafkaClient(brokers []string, opts ...kgo.Opt) (*kgo.Client, error) {
	if len(brokers) == 0 || brokers[0] == "" {
		return nil, errNoBrokers
	}
	base := []kgo.Opt{kgo.SeedBrokers(brokers...), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(0), kgo.RecordDeliveryTimeout(30 * time.Second)}
	kc, err := kgo.NewClient(append(base, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("outbox kafka client: %w", err)
	}
	return kc, nil
}
