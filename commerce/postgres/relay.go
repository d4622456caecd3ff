package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"

	"github.com/tide-live/tide/ingest"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// EventTypeHeader is a Kafka record header naming the event type
// (ingest.TypeName, "product_changed"), so consumers interested in one type
// can skip the others without decoding them.
const EventTypeHeader = "tide-event-type"

// Change kinds in an event's attrs["change"].
const (
	ChangeCreated = "created"
	ChangeUpdated = "updated"
	ChangeDeleted = "deleted"
)

// Relay publishes pending outbox rows to Kafka as product-changed events,
// in outbox order, and marks them sent once the broker acknowledged them:
// delivery is at-least-once (a crash between the acknowledgement and the
// commit publishes the rows again; event_id is stable across retries so
// consumers can deduplicate).
//
// Several relays (one per `tide serve` replica, plus `tide import` draining
// its own changes) may run against one database: each claims a batch with
// FOR UPDATE SKIP LOCKED, so a row is published by one relay in the normal
// path; a relay leaves out rows whose product has an earlier pending row
// claimed by another relay, so one product's changes are published in order.
type Relay struct {
	store     *Store
	kc        *kgo.Client
	topic     string
	batch     int
	poll      time.Duration
	retention time.Duration
	log       *slog.Logger
}

// RelayOption configures a Relay.
type RelayOption func(*Relay)

// WithTopic sets the events topic (default ingest.DefaultEventsTopic).
func WithTopic(t string) RelayOption { return func(r *Relay) { r.topic = t } }

// WithBatch sets how many outbox rows one transaction publishes (default 500).
func WithBatch(n int) RelayOption { return func(r *Relay) { r.batch = max(1, n) } }

// WithPollInterval sets how often Run looks for pending rows when no NOTIFY
// woke it (default 1s).
func WithPollInterval(d time.Duration) RelayOption { return func(r *Relay) { r.poll = d } }

// WithRetention sets how long Run keeps sent rows before deleting them
// (default 24h; 0 keeps them).
func WithRetention(d time.Duration) RelayOption { return func(r *Relay) { r.retention = d } }

// WithRelayLogger sets the logger (default the store's).
func WithRelayLogger(l *slog.Logger) RelayOption { return func(r *Relay) { r.log = l } }

// NewRelay returns a relay from the store's outbox to Kafka through kc.
func NewRelay(s *Store, kc *kgo.Client, opts ...RelayOption) *Relay {
	r := &Relay{store: s, kc: kc, topic: ingest.DefaultEventsTopic, batch: 500, poll: time.Second,
		retention: 24 * time.Hour, log: s.log}
	for _, o := range opts {
		o(r)
	}
	return r
}

type outboxRow struct {
	id         int64
	productID  string
	merchantID string
	change     string
	createdAt  time.Time
}

// claim locks up to batch pending rows, skipping rows other relays hold and
// rows that must wait for an earlier change of their product held by another
// relay.
const claim = `
WITH c AS MATERIALIZED (
	SELECT id, product_id, merchant_id, change, created_at FROM outbox
	WHERE sent_at IS NULL ORDER BY id LIMIT $1
	FOR UPDATE SKIP LOCKED
)
SELECT c.id, c.product_id, c.merchant_id, c.change, c.created_at FROM c
WHERE NOT EXISTS (
	SELECT 1 FROM outbox o
	WHERE o.sent_at IS NULL AND o.product_id = c.product_id AND o.id < c.id
		AND o.id NOT IN (SELECT id FROM c))
ORDER BY c.id`

// PublishOnce publishes one batch of pending rows and reports how many it
// published. Zero means nothing was pending that this relay could take.
func (r *Relay) PublishOnce(ctx context.Context) (int, error) {
	var n int
	err := r.store.tx(ctx, true, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, claim, r.batch)
		if err != nil {
			return fmt.Errorf("claim outbox rows: %w", err)
		}
		claimed, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (outboxRow, error) {
			var o outboxRow
			err := row.Scan(&o.id, &o.productID, &o.merchantID, &o.change, &o.createdAt)
			return o, err
		})
		if err != nil {
			return fmt.Errorf("claim outbox rows: %w", err)
		}
		if len(claimed) == 0 {
			return nil
		}
		now := time.Now()
		recs := make([]*kgo.Record, len(claimed))
		ids := make([]int64, len(claimed))
		for i, o := range claimed {
			e := ProductChangedEvent(o.id, o.productID, o.merchantID, o.change, o.createdAt)
			e.ReceivedAt = now.UnixMilli()
			v, err := proto.Marshal(e)
			if err != nil {
				return fmt.Errorf("encode outbox row %d: %w", o.id, err)
			}
			recs[i] = &kgo.Record{
				Topic: r.topic, Key: ingest.Key(e), Value: v,
				Headers: append(ingest.ProducerHeaders(ingest.ProducerServer), // provenance: the server's own record
					kgo.RecordHeader{Key: EventTypeHeader, Value: []byte(ingest.TypeName(e.GetType()))}),
			}
			ids[i] = o.id
		}
		if err := r.kc.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			return fmt.Errorf("publish %d product changes: %w", len(recs), err)
		}
		if _, err := tx.Exec(ctx, `UPDATE outbox SET sent_at = now() WHERE id = ANY($1)`, ids); err != nil {
			return fmt.Errorf("mark outbox rows sent: %w", err)
		}
		n = len(claimed)
		return nil
	})
	return n, err
}

// ProductChangedEvent is the event a relay publishes for outbox row id. Its
// event_id is derived from the row (stable across re-publication) and ts is
// when the change was committed.
func ProductChangedEvent(id int64, productID, merchantID, change string, at time.Time) *tidev1.Event {
	return &tidev1.Event{
		EventId:    "commerce-outbox-" + strconv.FormatInt(id, 10) + "-" + strconv.FormatInt(at.UnixMicro(), 36),
		Type:       tidev1.EventType_EVENT_TYPE_PRODUCT_CHANGED,
		Ts:         at.UnixMilli(),
		MerchantId: merchantID,
		ProductId:  productID,
		Attrs:      map[string]string{"change": change},
	}
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

// Pending is the number of outbox rows not yet published.
func (s *Store) Pending(ctx context.Context) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE sent_at IS NULL`).Scan(&n)
	return n, err
}

// Run publishes pending rows until ctx ends: at once when a writer's NOTIFY
// arrives, otherwise every poll interval. Publishing errors are logged and
// retried; Run returns nil when ctx is done.
func (r *Relay) Run(ctx context.Context) error {
	wake := make(chan struct{}, 1)
	go r.listen(ctx, wake)
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
			if n, err := r.store.PruneSent(ctx, r.retention); err != nil {
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

// listen holds a connection LISTENing on the notify channel and signals
// wake for every notification, reconnecting after errors.
func (r *Relay) listen(ctx context.Context, wake chan<- struct{}) {
	for ctx.Err() == nil {
		err := r.listenOnce(ctx, wake)
		if ctx.Err() != nil {
			return
		}
		r.log.Warn("outbox relay: LISTEN connection lost; polling meanwhile", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func (r *Relay) listenOnce(ctx context.Context, wake chan<- struct{}) error {
	conn, err := pgx.ConnectConfig(ctx, r.store.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{r.store.notify}.Sanitize()); err != nil {
		return err
	}
	signal(wake) // rows may have arrived before LISTEN
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		signal(wake)
	}
}

func signal(c chan<- struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// PruneSent deletes rows that were sent more than olderThan ago.
func (s *Store) PruneSent(ctx context.Context, olderThan time.Duration) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM outbox WHERE sent_at < $1`, time.Now().Add(-olderThan))
	if err != nil {
		return 0, fmt.Errorf("prune outbox: %w", err)
	}
	return tag.RowsAffected(), nil
}

// errNoBrokers is returned by NewKafkaClient without seed brokers.
var errNoBrokers = errors.New("no Kafka brokers given")

// NewKafkaClient returns a producer suited to the relay: idempotent, acks
// from all in-sync replicas, records of one key on one partition in order.
func NewKafkaClient(brokers []string, opts ...kgo.Opt) (*kgo.Client, error) {
	if len(brokers) == 0 || brokers[0] == "" {
		return nil, errNoBrokers
	}
	base := []kgo.Opt{kgo.SeedBrokers(brokers...), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(0), kgo.RecordDeliveryTimeout(30 * time.Second)}
	kc, err := kgo.NewClient(append(base, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	return kc, nil
}
