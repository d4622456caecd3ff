// Package follow keeps a search index fresh from the events topic: it
// consumes EVENT_TYPE_PRODUCT_CHANGED events (which the catalog writes to
// the shared outbox, ingest/outbox, and its relay publishes), looks the changed products up in a Source, and upserts the
// ones it gets back and deletes the others (deleted or off-shelf).
//
// Every serving replica runs its own Follower on its own index: a plain
// consumer without a group, reading every partition from a start time. The
// event only says that a product changed; the Source says what it is now,
// so redelivered, duplicated or reordered events are harmless.
//
// A replica starts like this:
//
//	start := time.Now()
//	all, _ := feed.All(ctx)                            // catalog snapshot
//	ix, _ := search.New(ctx, all, …)
//	f, _ := follow.New(brokers, feed, ix, follow.StartAt(start))
//	go f.Run(ctx)
//	…
//	f.Rebuild(ctx, feed, ix)                           // full rebuild, swapped in; searches never wait
package follow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/protobuf/proto"

	"github.com/tide-live/tide/ingest"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/search"
)

// Source says what products are now. Products returns the searchable
// products among ids; an id it does not return is removed from the index.
type Source interface {
	Products(ctx context.Context, ids []string) ([]search.Product, error)
}

// Catalog is a Source that can also list every searchable product, for
// full rebuilds.
type Catalog interface {
	Source
	All(ctx context.Context) ([]search.Product, error)
}

// Index is what the follower writes to; *search.Index implements it.
type Index interface {
	Upsert(ctx context.Context, products ...search.Product) error
	Delete(ctx context.Context, ids ...string) error
}

// Rebuilder builds a new index generation from a full catalog and swaps it
// in; *search.Index implements it.
type Rebuilder interface {
	Rebuild(ctx context.Context, catalog []search.Product) error
}

// getter is implemented by indexes that can return what they hold
// (*search.Index); the follower uses it to keep LiveNow across upserts.
type getter interface {
	Get(id string) (search.Product, bool)
}

// EventTypeHeader is the record header naming the event type
// ("product_changed"); records that carry another type are skipped without
// decoding. Records without it are decoded.
const EventTypeHeader = "tide-event-type"

// maxLookup bounds the ids of one Source call.
const maxLookup = 500

// Applied describes one batch of changes made searchable.
type Applied struct {
	Upserted int
	Deleted  int
	// Lag is how long after its change the oldest product of the batch
	// became searchable (now minus the event's ts, the commit time).
	Lag time.Duration
}

// Option configures a Follower.
type Option func(*Follower)

// WithTopic sets the events topic (default ingest.DefaultEventsTopic).
func WithTopic(t string) Option { return func(f *Follower) { f.topic = t } }

// StartAt makes the follower consume events published at or after t. Pass
// the time taken just before reading the catalog snapshot the index was
// built from. The default is one minute before New.
func StartAt(t time.Time) Option { return func(f *Follower) { f.start = t } }

// startMargin is how far before StartAt's time the follower starts reading.
const startMargin = 30 * time.Second

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(f *Follower) { f.log = l } }

// OnApply is called after every batch made searchable.
func OnApply(fn func(Applied)) Option { return func(f *Follower) { f.onApply = fn } }

// WithKafkaOptions adds franz-go client options (TLS, SASL, …).
func WithKafkaOptions(opts ...kgo.Opt) Option {
	return func(f *Follower) { f.kopts = append(f.kopts, opts...) }
}

// Follower applies product-changed events to an index.
type Follower struct {
	topic   string
	start   time.Time
	log     *slog.Logger
	onApply func(Applied)
	kopts   []kgo.Opt

	src Source
	ix  Index
	kc  *kgo.Client

	applyMu   sync.Mutex // one apply at a time, so a later read is never overtaken by an earlier one
	mu        sync.Mutex
	recording int                 // rebuilds in progress
	touched   map[string]struct{} // ids applied while a rebuild runs
}

// New returns a follower of the events topic on brokers. Call Run to start
// it and Close to release the Kafka client.
func New(brokers []string, src Source, ix Index, opts ...Option) (*Follower, error) {
	f := &Follower{topic: ingest.DefaultEventsTopic, start: time.Now().Add(-time.Minute),
		log: slog.Default(), src: src, ix: ix}
	for _, o := range opts {
		o(f)
	}
	if len(brokers) == 0 || brokers[0] == "" {
		return nil, errors.New("search follow: no Kafka brokers given")
	}
	// partitions are added by Run once their start offsets are resolved
	kopts := append([]kgo.Opt{
		kgo.SeedBrokers(brokers...),
		kgo.FetchMaxWait(500 * time.Millisecond),
	}, f.kopts...)
	kc, err := kgo.NewClient(kopts...)
	if err != nil {
		return nil, fmt.Errorf("search follow: kafka client: %w", err)
	}
	f.kc = kc
	return f, nil
}

// Close releases the Kafka client; Run returns.
func (f *Follower) Close() { f.kc.Close() }

// Run consumes until ctx ends or Close, and returns nil then. A batch that
// cannot be applied (Source or index failing) is retried, with backoff,
// until it is: a change is never skipped.
func (f *Follower) Run(ctx context.Context) error {
	// a margin before start: record timestamps come from the producers' clocks
	err := ingest.ConsumeAfter(ctx, f.kc, f.topic, f.start.Add(-startMargin), func(err error) {
		f.log.Warn("search follow: start offsets not resolved, retrying", "topic", f.topic, "err", err)
	})
	if err != nil {
		return nil // ctx ended
	}
	var lastErr time.Time
	for {
		fs := f.kc.PollFetches(ctx)
		if ctx.Err() != nil || fs.IsClientClosed() {
			return nil
		}
		fs.EachError(func(topic string, p int32, err error) {
			if errors.Is(err, context.Canceled) || time.Since(lastErr) < 10*time.Second {
				return
			}
			lastErr = time.Now()
			f.log.Warn("search follow: fetch failed", "topic", topic, "partition", p, "err", err)
		})
		ids, oldest := changedProducts(fs, f.log)
		if len(ids) == 0 {
			continue
		}
		if err := f.applyRetrying(ctx, ids, oldest); err != nil {
			return nil // ctx ended
		}
	}
}

// changedProducts returns the distinct product ids of the product-changed
// events in fs, in order, and the oldest event time.
func changedProducts(fs kgo.Fetches, log *slog.Logger) ([]string, time.Time) {
	var (
		ids    []string
		seen   = map[string]bool{}
		oldest time.Time
		e      tidev1.Event
	)
	fs.EachRecord(func(r *kgo.Record) {
		for _, h := range r.Headers {
			if h.Key == EventTypeHeader && string(h.Value) != ingest.TypeName(tidev1.EventType_EVENT_TYPE_PRODUCT_CHANGED) {
				return
			}
		}
		e.Reset()
		if err := proto.Unmarshal(r.Value, &e); err != nil {
			log.Debug("search follow: undecodable record skipped", "partition", r.Partition, "offset", r.Offset, "err", err)
			return
		}
		if e.GetType() != tidev1.EventType_EVENT_TYPE_PRODUCT_CHANGED || e.GetProductId() == "" {
			return
		}
		if t := time.UnixMilli(e.GetTs()); e.GetTs() > 0 && (oldest.IsZero() || t.Before(oldest)) {
			oldest = t
		}
		if id := e.GetProductId(); !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	})
	return ids, oldest
}

func (f *Follower) applyRetrying(ctx context.Context, ids []string, oldest time.Time) error {
	backoff := 100 * time.Millisecond
	for {
		a, err := f.Apply(ctx, ids)
		if err == nil {
			if !oldest.IsZero() {
				a.Lag = time.Since(oldest)
			}
			f.log.Debug("search follow: applied", "upserted", a.Upserted, "deleted", a.Deleted, "lag", a.Lag)
			if f.onApply != nil {
				f.onApply(a)
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		f.log.Warn("search follow: apply failed; retrying", "products", len(ids), "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

// Apply makes the index agree with the Source about ids: upserts the
// products the Source returns, deletes the rest.
func (f *Follower) Apply(ctx context.Context, ids []string) (Applied, error) {
	f.applyMu.Lock()
	defer f.applyMu.Unlock()
	var a Applied
	for chunk := range slices.Chunk(ids, maxLookup) {
		ps, err := f.src.Products(ctx, chunk)
		if err != nil {
			return a, fmt.Errorf("look up %d products: %w", len(chunk), err)
		}
		found := make(map[string]bool, len(ps))
		for i := range ps {
			found[ps[i].ID] = true
		}
		if g, ok := f.ix.(getter); ok {
			for i := range ps {
				if old, ok := g.Get(ps[i].ID); ok && old.LiveNow {
					ps[i].LiveNow = true
				}
			}
		}
		n, err := f.upsert(ctx, ps)
		if err != nil {
			return a, err
		}
		a.Upserted += n
		var gone []string
		for _, id := range chunk {
			if !found[id] {
				gone = append(gone, id)
			}
		}
		if len(gone) > 0 {
			if err := f.ix.Delete(ctx, gone...); err != nil {
				return a, fmt.Errorf("delete %d products from the index: %w", len(gone), err)
			}
			a.Deleted += len(gone)
		}
		f.note(chunk)
	}
	return a, nil
}

// upsert writes ps; when the index rejects one as invalid, the others are
// written one by one and the invalid ones logged and left out.
func (f *Follower) upsert(ctx context.Context, ps []search.Product) (int, error) {
	if len(ps) == 0 {
		return 0, nil
	}
	err := f.ix.Upsert(ctx, ps...)
	if err == nil {
		return len(ps), nil
	}
	if !errors.Is(err, search.ErrInvalidProduct) {
		return 0, fmt.Errorf("upsert %d products: %w", len(ps), err)
	}
	n := 0
	for _, p := range ps {
		if err := f.ix.Upsert(ctx, p); err != nil {
			if errors.Is(err, search.ErrInvalidProduct) {
				f.log.Warn("search follow: product not indexable; skipped", "product", p.ID, "err", err)
				continue
			}
			return n, fmt.Errorf("upsert product %s: %w", p.ID, err)
		}
		n++
	}
	return n, nil
}

// note records ids applied while a rebuild runs.
func (f *Follower) note(ids []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.recording == 0 {
		return
	}
	for _, id := range ids {
		f.touched[id] = struct{}{}
	}
}

// Rebuild reads the whole catalog, has rb build a new generation from it
// and swap it in (searches and the follower go on meanwhile), then re-applies
// every product the follower touched since the catalog was read, so that no
// change made during the rebuild is lost to the swap.
func (f *Follower) Rebuild(ctx context.Context, cat Catalog, rb Rebuilder) (int, error) {
	f.mu.Lock()
	if f.recording == 0 {
		f.touched = map[string]struct{}{}
	}
	f.recording++
	f.mu.Unlock()
	stop := func() []string {
		f.mu.Lock()
		defer f.mu.Unlock()
		ids := slices.Sorted(maps.Keys(f.touched))
		if f.recording--; f.recording == 0 {
			f.touched = nil
		}
		return ids
	}
	all, err := cat.All(ctx)
	if err != nil {
		stop()
		return 0, fmt.Errorf("rebuild: read catalog: %w", err)
	}
	if err := rb.Rebuild(ctx, all); err != nil {
		stop()
		return 0, fmt.Errorf("rebuild: %w", err)
	}
	if ids := stop(); len(ids) > 0 {
		if _, err := f.Apply(ctx, ids); err != nil {
			return len(all), fmt.Errorf("rebuild: re-apply %d changed products: %w", len(ids), err)
		}
	}
	return len(all), nil
}
