package search

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/index/scorch/mergeplan"
)

// Index is the product search index. It serves searches from the current
// generation (a Bleve index plus the Analysis built for its catalog), keeps
// it fresh through Upsert/Delete (grouped into near-real-time batches: a
// change is searchable when the call returns), and Rebuild builds a new
// generation in its own directory and swaps it in atomically, replaying
// changes that arrived meanwhile. Searches never wait for a rebuild.
//
// All methods are safe for concurrent use.
type Index struct {
	opts      options
	root      string
	ownedRoot bool // a temp dir New made, removed on Close

	cur       atomic.Pointer[generation]
	mu        sync.Mutex // guards journal, closed, and ordering against a swap
	journal   []change   // changes since a running rebuild started
	rebuild   bool
	closed    bool
	rebuildMu sync.Mutex // one rebuild at a time
	retiring  sync.WaitGroup
	live      liveShelves // SetLiveShelves' rooms, applied by Upsert and Rebuild
}

// Option configures New.
type Option func(*options)

type options struct {
	dir        string
	log        *slog.Logger
	analysis   []AnalysisOption
	weights    RankWeights
	batchSize  int
	progress   func(done, total int)
	maxResults int
}

// WithDir keeps the index generations under dir (default: a temporary
// directory removed on Close). Stale generations found there are removed:
// the index is always rebuilt from the catalog.
func WithDir(dir string) Option { return func(o *options) { o.dir = dir } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithAnalysis passes options to NewAnalysis for every generation.
func WithAnalysis(opts ...AnalysisOption) Option {
	return func(o *options) { o.analysis = append(o.analysis, opts...) }
}

// WithRankWeights sets the ranking blend (default DefaultRankWeights()).
func WithRankWeights(w RankWeights) Option { return func(o *options) { o.weights = w } }

// WithBuildBatch sets how many products a build batch holds (default
// 2000). A build indexes as many batches at once as there are cores.
func WithBuildBatch(n int) Option { return func(o *options) { o.batchSize = max(1, n) } }

// WithProgress is called as a build indexes products: once with done 0
// when analysis is ready and indexing starts, then after every batch.
func WithProgress(f func(done, total int)) Option { return func(o *options) { o.progress = f } }

// New builds an index over catalog. It returns once the catalog is
// searchable.
func New(ctx context.Context, catalog []Product, opts ...Option) (*Index, error) {
	o := options{log: slog.Default(), weights: DefaultRankWeights(), batchSize: 2000, maxResults: 1000}
	for _, opt := range opts {
		opt(&o)
	}
	ix := &Index{opts: o, root: o.dir}
	if ix.root == "" {
		d, err := os.MkdirTemp("", "tide-search-*")
		if err != nil {
			return nil, fmt.Errorf("search index dir: %w", err)
		}
		ix.root, ix.ownedRoot = d, true
	} else {
		if err := os.MkdirAll(ix.root, 0o755); err != nil {
			return nil, fmt.Errorf("search index dir: %w", err)
		}
		stale, _ := filepath.Glob(filepath.Join(ix.root, "gen-*"))
		for _, s := range stale {
			_ = os.RemoveAll(s)
		}
	}
	g, err := ix.build(ctx, catalog)
	if err != nil {
		if ix.ownedRoot {
			_ = os.RemoveAll(ix.root)
		}
		return nil, err
	}
	ix.cur.Store(g)
	return ix, nil
}

// Rebuild indexes catalog from scratch into a new generation and swaps it
// in. Searches and writes go on against the current generation meanwhile;
// writes made during the rebuild are replayed into the new one before the
// swap, so none is lost.
func (ix *Index) Rebuild(ctx context.Context, catalog []Product) error {
	ix.rebuildMu.Lock()
	defer ix.rebuildMu.Unlock()
	ix.mu.Lock()
	if ix.closed {
		ix.mu.Unlock()
		return ErrClosed
	}
	ix.rebuild, ix.journal = true, nil
	ix.mu.Unlock()
	catalog = slices.Clone(catalog)
	ix.live.overlay(catalog)
	defer func() {
		ix.mu.Lock()
		ix.rebuild, ix.journal = false, nil
		ix.mu.Unlock()
	}()

	g, err := ix.build(ctx, catalog)
	if err != nil {
		return err
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.closed {
		g.retire()
		return ErrClosed
	}
	if err := g.apply(ix.journal); err != nil {
		g.retire()
		return fmt.Errorf("replay changes into rebuilt index: %w", err)
	}
	old := ix.cur.Swap(g)
	ix.opts.log.Info("search index swapped", "generation", g.dir, "products", len(catalog), "replayed", len(ix.journal))
	ix.retiring.Add(1)
	go func() {
		defer ix.retiring.Done()
		old.retire()
	}()
	return nil
}

func (ix *Index) build(ctx context.Context, catalog []Product) (*generation, error) {
	start := time.Now()
	an, err := NewAnalysis(catalog, ix.opts.analysis...)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(ix.root, fmt.Sprintf("gen-%d", time.Now().UnixNano()))
	bl, err := bleve.NewUsing(dir, newMapping(), scorch.Name, scorch.Name, scorchConfig())
	if err != nil {
		return nil, fmt.Errorf("create search index: %w", err)
	}
	g := newGeneration(dir, bl, an, ix.opts.weights, len(catalog))
	if ix.opts.progress != nil {
		ix.opts.progress(0, len(catalog))
	}
	// The table first, in catalog order (ordinals break ties in sorting);
	// then Bleve batches, several at once: each builds its own segment, so
	// analysis and segment building use every core.
	changes := make([]change, len(catalog))
	for i := range catalog {
		p := &catalog[i]
		if err := p.validate(); err != nil {
			g.retire()
			return nil, err
		}
		cp := *p
		changes[i] = change{id: p.ID, product: &cp}
	}
	changes = lastChanges(changes) // a repeated id: the last one wins
	for _, c := range changes {
		g.docs.put(c.product)
	}
	if err := ix.indexParallel(ctx, g, changes); err != nil {
		g.retire()
		return nil, err
	}
	if err := compact(ctx, bl); err != nil {
		g.retire()
		return nil, err
	}
	g.warmOrds()
	g.startWriter()
	ix.opts.log.Info("search index built", "products", len(changes), "user_words", an.UserWords(),
		"took", time.Since(start).Round(time.Millisecond))
	return g, nil
}

// indexParallel writes changes to g's Bleve index in batches of
// opts.batchSize, as many batches at a time as there are cores, reporting
// progress in order.
func (ix *Index) indexParallel(ctx context.Context, g *generation, cs []change) error {
	size := ix.opts.batchSize
	next := make(chan int)
	errc := make(chan error, 1)
	var (
		mu   sync.Mutex
		done int
	)
	var wg sync.WaitGroup
	for range max(1, runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for from := range next {
				to := min(len(cs), from+size)
				if err := g.index(cs[from:to]); err != nil {
					select {
					case errc <- err:
					default:
					}
					continue
				}
				if ix.opts.progress != nil {
					mu.Lock()
					done += to - from
					ix.opts.progress(done, len(cs))
					mu.Unlock()
				}
			}
		}()
	}
	var err error
feed:
	for from := 0; from < len(cs); from += size {
		select {
		case next <- from:
		case err = <-errc:
			break feed
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errc:
		default:
		}
	}
	return err
}

// Upsert adds or replaces products. When it returns nil the change is
// searchable. Concurrent calls are grouped into one batch. A product that
// is LiveNow without a LiveRoomID keeps the room it was known to be live
// in; one that is not LiveNow has none.
func (ix *Index) Upsert(ctx context.Context, products ...Product) error {
	cs := make([]change, 0, len(products))
	for i := range products {
		p := products[i]
		if err := p.validate(); err != nil {
			return err
		}
		if r, ok := ix.live.roomOf(p.ID); ok { // on a live room's shelf: the catalog does not know rooms
			p.LiveNow, p.LiveRoomID = true, r
		}
		switch {
		case !p.LiveNow:
			p.LiveRoomID = ""
		case p.LiveRoomID == "":
			if old, ok := ix.Get(p.ID); ok && old.LiveNow {
				p.LiveRoomID = old.LiveRoomID
			}
		}
		cs = append(cs, change{id: p.ID, product: &p})
	}
	return ix.write(ctx, cs)
}

// Delete removes products by id; unknown ids are ignored.
func (ix *Index) Delete(ctx context.Context, ids ...string) error {
	cs := make([]change, 0, len(ids))
	for _, id := range ids {
		cs = append(cs, change{id: id})
	}
	return ix.write(ctx, cs)
}

// SetLive marks products as shown (or no longer shown) in a live room now.
// Unknown ids are ignored. Only the doc table changes: no re-indexing.
func (ix *Index) SetLive(ctx context.Context, live bool, ids ...string) error {
	var ps []Product
	for _, id := range ids {
		if p, ok := ix.Get(id); ok && p.LiveNow != live {
			p.LiveNow = live
			ps = append(ps, p)
		}
	}
	if len(ps) == 0 {
		return nil
	}
	return ix.Upsert(ctx, ps...)
}

// SetLiveRoom marks products as shown in live room roomID now, or, with
// roomID empty, in no live room. Unknown ids are ignored.
func (ix *Index) SetLiveRoom(ctx context.Context, roomID string, ids ...string) error {
	var ps []Product
	for _, id := range ids {
		if p, ok := ix.Get(id); ok && (p.LiveNow != (roomID != "") || p.LiveRoomID != roomID) {
			p.LiveNow, p.LiveRoomID = roomID != "", roomID
			ps = append(ps, p)
		}
	}
	if len(ps) == 0 {
		return nil
	}
	return ix.Upsert(ctx, ps...)
}

// Get returns the indexed product with this id.
func (ix *Index) Get(id string) (Product, bool) {
	g, release, err := ix.acquire()
	if err != nil {
		return Product{}, false
	}
	defer release()
	p := g.product(id)
	if p == nil {
		return Product{}, false
	}
	return *p, true
}

// Len is the number of indexed products.
func (ix *Index) Len() int {
	g, release, err := ix.acquire()
	if err != nil {
		return 0
	}
	defer release()
	return g.len()
}

func (ix *Index) write(ctx context.Context, cs []change) error {
	if len(cs) == 0 {
		return nil
	}
	for {
		ix.mu.Lock()
		if ix.closed {
			ix.mu.Unlock()
			return ErrClosed
		}
		if ix.rebuild {
			ix.journal = append(ix.journal, cs...)
		}
		g := ix.cur.Load()
		ix.mu.Unlock()
		err := g.submit(ctx, cs)
		if errors.Is(err, errRetired) {
			continue // swapped meanwhile: apply to the new generation too
		}
		return err
	}
}

// acquire pins the current generation for a read.
func (ix *Index) acquire() (*generation, func(), error) {
	for {
		g := ix.cur.Load()
		if g == nil {
			return nil, nil, ErrClosed
		}
		g.refs.Add(1)
		if g.retired.Load() {
			g.refs.Add(-1)
			if ix.isClosed() {
				return nil, nil, ErrClosed
			}
			continue
		}
		return g, func() { g.refs.Add(-1) }, nil
	}
}

func (ix *Index) isClosed() bool {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.closed
}

// Close stops writers, closes the index and removes a temporary directory.
func (ix *Index) Close() error {
	ix.mu.Lock()
	if ix.closed {
		ix.mu.Unlock()
		return nil
	}
	ix.closed = true
	g := ix.cur.Load()
	ix.mu.Unlock()
	err := g.retire()
	ix.retiring.Wait()
	if ix.ownedRoot {
		if rerr := os.RemoveAll(ix.root); rerr != nil && err == nil {
			err = rerr
		}
	}
	return err
}

// scorchConfig is the Bleve scorch configuration of a generation.
// unsafe_batch: a batch is searchable once introduced in memory and is
// persisted in the background; durability comes from the catalog.
func scorchConfig() map[string]any {
	return map[string]any{"unsafe_batch": true}
}

// compact merges a freshly built index's segments into one: searches then
// set up each term once instead of once per segment, and no background
// merging of the bulk load competes with serving afterwards.
func compact(ctx context.Context, bl bleve.Index) error {
	adv, err := bl.Advanced()
	if err != nil {
		return fmt.Errorf("search index: %w", err)
	}
	s, ok := adv.(*scorch.Scorch)
	if !ok {
		return nil
	}
	if err := s.ForceMerge(ctx, &mergeplan.SingleSegmentMergePlanOptions); err != nil {
		return fmt.Errorf("compact search index: %w", err)
	}
	return nil
}
