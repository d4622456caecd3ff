package ingest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/twmb/franz-go/pkg/kgo"
)

// OpenClickHouse opens a native-protocol connection pool to addr (the only
// protocol ClickHouse 18.16 speaks with clickhouse-go) and pings it.
func OpenClickHouse(ctx context.Context, addr string) (driver.Conn, error) {
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr:            []string{addr},
		Protocol:        clickhouse.Native,
		DialTimeout:     5 * time.Second,
		ReadTimeout:     2 * time.Minute,
		MaxOpenConns:    4,
		MaxIdleConns:    4,
		ConnMaxLifetime: time.Hour,
	})
	if err != nil {
		return nil, fmt.Errorf("clickhouse %s: %w", addr, err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := conn.Ping(pctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("clickhouse %s: %w", addr, err)
	}
	return conn, nil
}

// HeldOffsets returns, per partition of topic, the highest Kafka offset that
// database's events table holds (from the kafka_offsets rollup).
func HeldOffsets(ctx context.Context, conn driver.Conn, database, topic string) (map[int32]int64, error) {
	rows, err := conn.Query(ctx, "SELECT kafka_partition, maxMerge(max_offset) FROM "+database+
		".kafka_offsets WHERE kafka_topic = ? GROUP BY kafka_partition", topic)
	if err != nil {
		return nil, fmt.Errorf("read kafka_offsets: %w", err)
	}
	defer rows.Close()
	held := map[int32]int64{}
	for rows.Next() {
		var p int32
		var o int64
		if err := rows.Scan(&p, &o); err != nil {
			return nil, fmt.Errorf("read kafka_offsets: %w", err)
		}
		held[p] = o
	}
	return held, rows.Err()
}

// settleInserts waits until every INSERT into database's events table that
// ClickHouse is running now has ended, or until limit passes (then it returns
// an error and the caller goes on). An insert outlives its client: after a
// kill -9, a cancelled context or a rebalance that revoked its partitions,
// ClickHouse may still be writing the block, and whoever reads the held
// offsets before it lands would insert those rows again. Inserts that start
// later are not waited for: they belong to partitions their owner holds now.
func settleInserts(ctx context.Context, conn driver.Conn, database string, limit time.Duration) error {
	prefix := "INSERT INTO " + database + ".events" // clickhouse-go may respace the rest
	running := func() (map[string]bool, error) {
		rows, err := conn.Query(ctx, "SELECT query_id FROM system.processes WHERE position(query, ?) = 1", prefix)
		if err != nil {
			return nil, fmt.Errorf("read system.processes: %w", err)
		}
		defer rows.Close()
		ids := map[string]bool{}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return nil, fmt.Errorf("read system.processes: %w", err)
			}
			ids[id] = true
		}
		return ids, rows.Err()
	}
	waitFor, err := running()
	if err != nil {
		return err
	}
	deadline := time.Now().Add(limit)
	for len(waitFor) > 0 {
		if time.Now().After(deadline) {
			return fmt.Errorf("%d inserts into %s.events still running after %s", len(waitFor), database, limit)
		}
		if !sleep(ctx, 50*time.Millisecond) {
			return ctx.Err()
		}
		now, err := running()
		if err != nil {
			return err
		}
		for id := range waitFor {
			if !now[id] {
				delete(waitFor, id)
			}
		}
	}
	return nil
}

// batch is what one insert carries, plus the offsets to commit once
// ClickHouse and the dead-letter topic have acknowledged it.
type batch struct {
	gen     uint64
	first   time.Time
	chunks  []*chunk
	rows    int
	next    map[int32]kgo.EpochOffset // per partition: the offset after the last record read
	lastRow map[int32]int64           // per partition: the offset of the last row inserted
	dlq     sync.WaitGroup            // dead letters not yet stored
}

func newBatch(gen uint64) *batch {
	return &batch{gen: gen, first: time.Now(), next: map[int32]kgo.EpochOffset{}, lastRow: map[int32]int64{}}
}

// insert sends b's rows to ClickHouse in one columnar INSERT. scratch is
// memory reused from insert to insert.
func insert(ctx context.Context, conn driver.Conn, query string, b *batch, scratch *[]string) error {
	pb, err := conn.PrepareBatch(ctx, query)
	if err != nil {
		return fmt.Errorf("prepare insert: %w", err)
	}
	defer func() { clear(*scratch) }() // drop references to record memory
	for _, c := range b.chunks {
		if *scratch, err = c.appendTo(pb, *scratch); err != nil {
			pb.Abort()
			return fmt.Errorf("append: %w", err)
		}
	}
	if err := pb.Send(); err != nil {
		return fmt.Errorf("send insert: %w", err)
	}
	return nil
}

// covered reports whether ClickHouse already holds every row of b: an insert
// that failed on the client side may have been stored all the same.
func covered(held map[int32]int64, b *batch) bool {
	for p, last := range b.lastRow {
		if h, ok := held[p]; !ok || h < last {
			return false
		}
	}
	return true
}

// backoff is an exponential delay, doubling from min up to max.
type backoff struct {
	min, max, cur time.Duration
}

func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(b.cur*2, b.max)
	}
	return b.cur
}

func (b *backoff) reset() { b.cur = 0 }

// sleep waits d or until ctx is done, reporting whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
