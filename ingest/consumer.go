package ingest

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// chunkRecords is how many records one decode task handles at most.
const chunkRecords = 16 << 10

// shutdownGrace is how long Run waits at shutdown for the last batches.
const shutdownGrace = 30 * time.Second

// task is one decode job: consecutive records of one partition.
type task struct {
	partition int32
	recs      []*kgo.Record
	c         *chunk
}

// Run consumes until ctx is done, then inserts and commits what it has read
// and returns nil. It returns an error only when the Kafka client fails for
// good.
func (i *Ingester) Run(ctx context.Context) error {
	sinkDone := make(chan struct{})
	go func() { defer close(sinkDone); i.sinkLoop() }()
	progressDone := make(chan struct{})
	pctx, stopProgress := context.WithCancel(ctx)
	go func() { defer close(progressDone); i.progress(pctx) }()
	defer func() { stopProgress(); <-progressDone }()

	// Once ctx is done the last batches get a grace period, then they are
	// abandoned (nothing uncommitted is lost: the next run resumes from
	// ClickHouse), so that a ClickHouse outage cannot hold up shutdown.
	var mu sync.Mutex
	var abandon *time.Timer
	stopArming := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		abandon = time.AfterFunc(shutdownGrace, func() { i.dropGeneration("abandoned at shutdown", nil) })
	})
	defer func() {
		stopArming()
		mu.Lock()
		defer mu.Unlock()
		if abandon != nil {
			abandon.Stop()
		}
	}()

	err := i.pollLoop(ctx)
	if err != nil {
		i.dropGeneration("abandoned after a Kafka failure", nil)
	}
	close(i.sinkCh)
	<-sinkDone
	i.log.Info("ingest stopped", "consumed", i.consumed.Load(), "inserted", i.inserted.Load(),
		"dead_lettered", i.deadLettered.Load())
	return err
}

func (i *Ingester) pollLoop(ctx context.Context) error {
	var cur *batch
	workers := max(1, runtime.GOMAXPROCS(0))
	for {
		pollCtx, cancel := ctx, context.CancelFunc(func() {})
		limit := i.cfg.BatchRows
		if cur != nil {
			pollCtx, cancel = context.WithDeadline(ctx, i.flushAt(cur))
			limit = max(1, i.cfg.BatchRows-cur.rows)
		}
		fetches := i.kcl.PollRecords(pollCtx, limit)
		cancel()
		if ctx.Err() != nil {
			if gctx, gen := i.genContext(); cur != nil && gen == cur.gen {
				i.send(gctx, cur) // sinkLoop inserts it before Run returns
			}
			return nil
		}
		if fetches.IsClientClosed() {
			return errors.New("ingest: kafka client closed")
		}
		fetches.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				i.log.Warn("fetch error", "topic", t, "partition", p, "err", err)
			}
		})
		i.commitAdjusted(ctx)
		gen := i.genOf()
		if cur != nil && cur.gen != gen {
			i.release(cur)
			cur = nil
		}
		var tasks []task
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			if len(p.Records) == 0 {
				return
			}
			last := p.Records[len(p.Records)-1]
			i.m.setLag(p.Partition, p.HighWatermark-last.Offset-1)
			for recs := p.Records; len(recs) > 0; {
				n := min(len(recs), chunkRecords)
				tasks = append(tasks, task{partition: p.Partition, recs: recs[:n]})
				recs = recs[n:]
			}
		})
		if len(tasks) > 0 {
			if cur == nil {
				cur = newBatch(gen)
			}
			i.decode(tasks, workers, cur)
			if i.genOf() != gen { // revoked while decoding: the next owner re-reads these
				i.releaseTasks(tasks)
				i.release(cur)
				cur = nil
				continue
			}
			for _, t := range tasks {
				cur.chunks = append(cur.chunks, t.c)
				cur.rows += t.c.rows()
				if n := t.c.rows(); n > 0 {
					cur.lastRow[t.partition] = t.c.offset[n-1]
				}
				last := t.recs[len(t.recs)-1]
				cur.next[t.partition] = kgo.EpochOffset{Epoch: last.LeaderEpoch, Offset: last.Offset + 1}
			}
		}
		if cur != nil && (cur.rows >= i.cfg.BatchRows || !time.Now().Before(i.flushAt(cur))) {
			if !i.send(ctx, cur) {
				i.release(cur)
			}
			cur = nil
		}
	}
}

// flushAt is when b is due for insert. Batching adapts to load: while the
// sink is idle a batch goes after a short linger (half of BatchWait), so
// that events are fresh in ClickHouse; while an insert is in flight it grows,
// up to BatchRows or BatchWait, so that inserts get larger and cheaper
// exactly when ClickHouse is the bottleneck. A busy sink is re-checked every
// linger/2 at most.
func (i *Ingester) flushAt(b *batch) time.Time {
	linger := i.cfg.BatchWait / 2
	if i.sinkBusy.Load() == 0 {
		return b.first.Add(linger)
	}
	due, recheck := b.first.Add(i.cfg.BatchWait), time.Now().Add(linger/2)
	if recheck.Before(due) {
		return recheck
	}
	return due
}

// send hands b to the sink, waiting while one insert is in flight and one
// batch queued; it reports false when ctx ended first.
func (i *Ingester) send(ctx context.Context, b *batch) bool {
	i.sinkBusy.Add(1)
	select {
	case i.sinkCh <- b:
		return true
	case <-ctx.Done():
		i.sinkBusy.Add(-1)
		return false
	}
}

// decode runs the tasks on up to workers goroutines, filling b's dead letters.
func (i *Ingester) decode(tasks []task, workers int, b *batch) {
	next := make(chan int, len(tasks))
	for k := range tasks {
		next <- k
	}
	close(next)
	var wg sync.WaitGroup
	for w := 0; w < min(workers, len(tasks)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := newDecoder()
			for k := range next {
				t := &tasks[k]
				t.c = i.chunks.Get().(*chunk)
				t.c.topic, t.c.partition = i.cfg.Topic, t.partition
				i.decodeTask(d, t, b)
			}
		}()
	}
	wg.Wait()
}

func (i *Ingester) decodeTask(d *decoder, t *task, b *batch) {
	var dead int64
	for _, r := range t.recs {
		err := d.decode(r.Value, true)
		if err == nil {
			if d.e.ReceivedAt <= 0 {
				d.e.ReceivedAt = r.Timestamp.UnixMilli()
			}
			err = i.cfg.Limits.Validate(d.e, time.UnixMilli(d.e.ReceivedAt))
		}
		if err == nil { // provenance.go: who may have produced this record
			err = CheckRecord(r.Headers, d.e.Type)
		}
		if err != nil {
			dead++
			i.dlq.send(r, err, &b.dlq)
			continue
		}
		t.c.add(d, r.Value, r.Offset)
	}
	n := int64(len(t.recs))
	i.consumed.Add(n)
	i.m.consumed.Add(float64(n))
	i.deadLettered.Add(dead)
}

// sinkLoop inserts batches in order, retrying each with capped exponential
// backoff until ClickHouse takes it, then commits its offsets.
func (i *Ingester) sinkLoop() {
	commits := make(chan commitJob, 64)
	done := make(chan struct{})
	go func() { defer close(done); i.commitLoop(commits) }()
	for b := range i.sinkCh {
		i.sinkMu.Lock()
		ctx, ok := i.handle(b)
		i.sinkMu.Unlock()
		i.sinkBusy.Add(-1)
		if ok && len(b.next) > 0 {
			commits <- commitJob{ctx: ctx, next: b.next, dlq: &b.dlq}
		}
		i.release(b)
	}
	close(commits)
	<-done
}

// commitJob is the commit of one inserted batch, due once its dead letters
// are stored.
type commitJob struct {
	ctx  context.Context // the batch's generation
	next map[int32]kgo.EpochOffset
	dlq  *sync.WaitGroup
}

// commitLoop commits in batch order, off the insert path, so that neither
// the commit round trip nor a slow dead-letter produce delays the next
// insert.
func (i *Ingester) commitLoop(jobs <-chan commitJob) {
	for j := range jobs {
		j.dlq.Wait()
		if j.ctx.Err() != nil {
			continue // revoked: the next owner resumes from ClickHouse
		}
		if err := i.commit(j.ctx, j.next); err != nil {
			i.log.Warn("offset commit failed (ClickHouse holds the rows; resume is unaffected)", "err", err)
			continue
		}
		i.m.commits.Inc()
		i.committedBatches.Add(1)
	}
}

// handle inserts b, retrying until it lands or its generation ends. It
// reports whether b's offsets may be committed, with b's generation context.
func (i *Ingester) handle(b *batch) (context.Context, bool) {
	ctx, gen := i.genContext()
	if b.gen != gen {
		return ctx, false // revoked: the next owner resumes from ClickHouse
	}
	bo := backoff{min: i.cfg.BackoffMin, max: i.cfg.BackoffMax}
	for attempt := 0; b.rows > 0; attempt++ {
		if attempt > 0 {
			i.settle(ctx) // the failed attempt may still be landing
			held, err := HeldOffsets(ctx, i.ch, i.cfg.Database, i.cfg.Topic)
			if err == nil && covered(held, b) {
				i.log.Info("batch already in ClickHouse after a failed insert", "rows", b.rows)
				break
			}
		}
		start := time.Now()
		actx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		err := insert(actx, i.ch, i.query, b, &i.scratch)
		cancel()
		if err == nil {
			i.m.insertSecs.Observe(time.Since(start).Seconds())
			i.m.batchRows.Observe(float64(b.rows))
			i.m.inserted.Add(float64(b.rows))
			i.inserted.Add(int64(b.rows))
			break
		}
		if ctx.Err() != nil {
			return ctx, false // revoked or closing mid-insert; nothing is committed
		}
		i.m.insertErrors.Inc()
		d := bo.next()
		i.log.Warn("insert failed; retrying", "rows", b.rows, "attempt", attempt+1, "backoff", d, "err", err)
		if !sleep(ctx, d) {
			return ctx, false
		}
	}
	return ctx, true
}

// adjustOffsets moves the start of every assigned partition past the highest
// offset ClickHouse already holds, waiting for ClickHouse if it is down.
func (i *Ingester) adjustOffsets(ctx context.Context, offsets map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
	parts := offsets[i.cfg.Topic]
	if len(parts) == 0 {
		return offsets, nil
	}
	i.settle(ctx) // a zombie insert of the previous owner may still be landing
	bo := backoff{min: i.cfg.BackoffMin, max: i.cfg.BackoffMax}
	var held map[int32]int64
	for {
		var err error
		if held, err = HeldOffsets(ctx, i.ch, i.cfg.Database, i.cfg.Topic); err == nil {
			break
		}
		d := bo.next()
		i.log.Warn("cannot read held offsets from ClickHouse; retrying", "backoff", d, "err", err)
		if !sleep(ctx, d) {
			return nil, ctx.Err()
		}
	}
	for p, o := range parts {
		h, ok := held[p]
		if !ok {
			continue
		}
		if from := o.EpochOffset().Offset; from < h+1 {
			parts[p] = kgo.NewOffset().At(h + 1)
			i.log.Info("resuming after ClickHouse's offset", "partition", p, "committed", from, "from", h+1)
			i.adjustMu.Lock()
			if i.adjusted == nil {
				i.adjusted = map[int32]kgo.EpochOffset{}
			}
			i.adjusted[p] = kgo.EpochOffset{Epoch: -1, Offset: h + 1}
			i.adjustMu.Unlock()
		}
	}
	return offsets, nil
}

// settleLimit bounds how long settle waits for inserts in flight.
const settleLimit = 2 * time.Minute

// settle waits for the inserts into events that ClickHouse is running now
// (see settleInserts) before held offsets are read to decide what to insert
// again. If ClickHouse cannot say, it logs and goes on: at worst a copy is
// inserted, which every table a report reads absorbs.
func (i *Ingester) settle(ctx context.Context) {
	start := time.Now()
	if err := settleInserts(ctx, i.ch, i.cfg.Database, settleLimit); err != nil {
		if ctx.Err() == nil {
			i.log.Warn("cannot wait for inserts in flight; a copy may be inserted", "err", err)
		}
		return
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		i.log.Info("waited for inserts in flight before resuming", "waited", d.Round(time.Millisecond))
	}
}

// commitAdjusted commits the start offsets that adjustOffsets moved past
// the group's commits (ClickHouse holds everything before them), so that
// committed lag is right even for partitions that get no new records. It
// runs in the poll loop before any batch of the new assignment exists, so it
// never overtakes a later commit.
func (i *Ingester) commitAdjusted(ctx context.Context) {
	i.adjustMu.Lock()
	adj := i.adjusted
	i.adjusted = nil
	i.adjustMu.Unlock()
	if len(adj) == 0 {
		return
	}
	if err := i.commit(ctx, adj); err != nil {
		i.log.Warn("committing the resume offsets failed", "err", err)
	}
}

// commit commits offsets of the events topic synchronously.
func (i *Ingester) commit(ctx context.Context, offsets map[int32]kgo.EpochOffset) error {
	var err error
	i.kcl.CommitOffsetsSync(ctx, map[string]map[int32]kgo.EpochOffset{i.cfg.Topic: offsets},
		func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, cerr error) {
			err = cerr
			if err != nil {
				return
			}
			for _, t := range resp.Topics {
				for _, p := range t.Partitions {
					if perr := kerr.ErrorForCode(p.ErrorCode); perr != nil && err == nil {
						err = perr
					}
				}
			}
		})
	return err
}

// dropGeneration abandons everything read but not yet inserted: eager
// rebalancing revokes every partition, and the next assignment resumes from
// what ClickHouse holds.
func (i *Ingester) dropGeneration(why string, parts map[string][]int32) {
	i.genMu.Lock()
	i.gen++
	i.genCancel()
	i.genCtx, i.genCancel = context.WithCancel(i.life)
	i.genMu.Unlock()
	i.sinkMu.Lock() // wait for an insert in flight to end
	i.sinkMu.Unlock()
	i.log.Info("partitions "+why, "partitions", parts)
}

func (i *Ingester) genOf() uint64 {
	i.genMu.Lock()
	defer i.genMu.Unlock()
	return i.gen
}

func (i *Ingester) genContext() (context.Context, uint64) {
	i.genMu.Lock()
	defer i.genMu.Unlock()
	return i.genCtx, i.gen
}

func (i *Ingester) release(b *batch) {
	for _, c := range b.chunks {
		c.reset()
		i.chunks.Put(c)
	}
	b.chunks = nil
}

func (i *Ingester) releaseTasks(ts []task) {
	for _, t := range ts {
		if t.c != nil {
			t.c.reset()
			i.chunks.Put(t.c)
		}
	}
}

// progress logs totals and rates every 10 seconds.
func (i *Ingester) progress(ctx context.Context) {
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	prev, prevT := i.Stats(), time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s := i.Stats()
			secs := now.Sub(prevT).Seconds()
			if s != prev {
				i.log.Info("ingest progress", "consumed", s.Consumed, "inserted", s.Inserted,
					"dead_lettered", s.DeadLettered, "batches", s.Batches,
					"consume_eps", int((float64(s.Consumed-prev.Consumed))/secs),
					"insert_rps", int((float64(s.Inserted-prev.Inserted))/secs))
			}
			prev, prevT = s, now
		}
	}
}
