package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tide-live/tide/ingest/chschema"
)

// Ingester consumes the events topic as a member of a consumer group and
// inserts valid events into ClickHouse, effectively once: every row carries
// its Kafka partition and offset, offsets are committed only after ClickHouse
// acknowledged the rows, and on partition assignment consumption resumes after
// the highest offset ClickHouse already holds. Records that do not decode or
// validate go to the dead-letter topic.
type Ingester struct {
	cfg   Config
	log   *slog.Logger
	m     *metrics
	kcl   *kgo.Client
	ch    driver.Conn
	dlq   *deadLetter
	query string

	life   context.Context // canceled by Close
	cancel context.CancelFunc

	genMu     sync.Mutex
	gen       uint64             // bumped when partitions are revoked or lost
	genCtx    context.Context    // canceled with the generation
	genCancel context.CancelFunc //
	sinkMu    sync.Mutex         // held while the sink handles a batch
	sinkCh    chan *batch
	scratch   []string     // the sink's reused memory
	sinkBusy  atomic.Int32 // batches sent to the sink and not yet handled
	adjustMu  sync.Mutex
	adjusted  map[int32]kgo.EpochOffset // resume offsets to commit
	chunks    sync.Pool

	consumed, inserted, deadLettered, committedBatches atomic.Int64
}

// Stats are running totals of an Ingester.
type Stats struct {
	Consumed     int64 // records read
	Inserted     int64 // rows acknowledged by ClickHouse
	DeadLettered int64 // records sent to the dead-letter topic
	Batches      int64 // batches inserted and committed
}

// Migrate applies the embedded ClickHouse schema migrations to database; see
// package chschema.
func Migrate(ctx context.Context, conn driver.Conn, database string) (applied []string, err error) {
	return chschema.Migrate(ctx, conn, database)
}

// New connects to ClickHouse and applies the schema migrations, creates the
// events and dead-letter topics when missing, and joins nothing yet: Run
// consumes.
func New(ctx context.Context, opts ...Option) (*Ingester, error) {
	cfg := NewConfig(opts...)
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("ingest: metrics: %w", err)
	}
	ch, err := OpenClickHouse(ctx, cfg.ClickHouseAddr)
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	applied, err := Migrate(ctx, ch, cfg.Database)
	if err != nil {
		ch.Close()
		return nil, fmt.Errorf("ingest: %w", err)
	}
	if len(applied) > 0 {
		cfg.Logger.Info("applied ClickHouse migrations", "database", cfg.Database, "migrations", applied)
	}
	i := &Ingester{cfg: cfg, log: cfg.Logger, m: m, ch: ch, query: InsertSQL(cfg.Database), sinkCh: make(chan *batch, 1)}
	i.life, i.cancel = context.WithCancel(context.Background())
	i.genCtx, i.genCancel = context.WithCancel(i.life)
	i.chunks.New = func() any { return newChunk(chunkRecords) }

	kopts := []kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.ConsumerGroup(cfg.Group),
		kgo.ConsumeTopics(cfg.Topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		// Eager balancing: every rebalance revokes everything, the pipeline
		// drops what it has not inserted, and the next assignment resumes
		// from what ClickHouse holds.
		kgo.Balancers(kgo.RangeBalancer()),
		kgo.SessionTimeout(cfg.SessionTimeout),
		kgo.HeartbeatInterval(max(cfg.SessionTimeout/5, 500*time.Millisecond)),
		kgo.RebalanceTimeout(60 * time.Second),
		kgo.AdjustFetchOffsetsFn(i.adjustOffsets),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, p map[string][]int32) {
			i.log.Info("partitions assigned", "partitions", p)
		}),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, p map[string][]int32) { i.dropGeneration("revoked", p) }),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, p map[string][]int32) { i.dropGeneration("lost", p) }),
		kgo.FetchMaxBytes(64 << 20),
		kgo.FetchMaxPartitionBytes(16 << 20),
		kgo.FetchMaxWait(500 * time.Millisecond),
		kgo.ProducerLinger(5 * time.Millisecond),
	}
	if cfg.InstanceID != "" {
		kopts = append(kopts, kgo.InstanceID(cfg.InstanceID))
	}
	kopts = append(kopts, cfg.KafkaOptions...)
	i.kcl, err = kgo.NewClient(kopts...)
	if err != nil {
		ch.Close()
		return nil, fmt.Errorf("ingest: kafka client: %w", err)
	}
	if err := EnsureTopics(ctx, i.kcl, cfg.Partitions, cfg.Topic, cfg.DeadLetterTopic); err != nil {
		i.Close()
		return nil, fmt.Errorf("ingest: %w", err)
	}
	i.dlq = &deadLetter{cl: i.kcl, topic: cfg.DeadLetterTopic, m: m, log: cfg.Logger, ctx: i.life}
	return i, nil
}

// EnsureTopics creates the topics that do not exist yet with the given
// number of partitions and the broker's default replication.
func EnsureTopics(ctx context.Context, cl *kgo.Client, partitions int, topics ...string) error {
	resp, err := kadm.NewClient(cl).CreateTopics(ctx, int32(partitions), -1, nil, topics...)
	if err != nil {
		return fmt.Errorf("create topics %v: %w", topics, err)
	}
	for _, t := range resp.Sorted() {
		if t.Err != nil && !errors.Is(t.Err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("create topic %s: %w", t.Topic, t.Err)
		}
	}
	return nil
}

// Stats returns the running totals.
func (i *Ingester) Stats() Stats {
	return Stats{Consumed: i.consumed.Load(), Inserted: i.inserted.Load(),
		DeadLettered: i.deadLettered.Load(), Batches: i.committedBatches.Load()}
}

// Close leaves the group and closes the Kafka and ClickHouse clients. Call it
// after Run returned.
func (i *Ingester) Close() error {
	i.cancel()
	i.kcl.Close()
	return i.ch.Close()
}

// DeleteTopics deletes topics (tests and benchmarks clean up with it).
func DeleteTopics(ctx context.Context, cl *kgo.Client, topics ...string) error {
	_, err := kadm.NewClient(cl).DeleteTopics(ctx, topics...)
	return err
}
