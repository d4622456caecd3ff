package search

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blevesearch/bleve/v2"
)

// errRetired tells a writer its generation was swapped out.
var errRetired = errors.New("search generation retired")

// maxWriteBatch caps how many queued changes one near-real-time batch takes.
const maxWriteBatch = 2000

// change is an upsert (product set) or a delete (product nil).
type change struct {
	id      string
	product *Product
}

type writeReq struct {
	changes []change
	done    chan error
}

// generation is one built index: Bleve, its Analysis, and the products it
// holds in a docTable (for filters, sorting, facets, hydrating hits, live
// flags and suggestions).
type generation struct {
	dir     string
	bl      bleve.Index
	an      *Analysis
	weights RankWeights

	pmu  sync.RWMutex // guards docs
	docs *docTable
	ords ordCache

	sugMu    sync.Mutex
	sug      *suggester
	sugDirty bool
	sugBuilt time.Time

	writes    chan writeReq
	quit      chan struct{}
	writerEnd chan struct{}
	refs      atomic.Int64
	retired   atomic.Bool
	retireMu  sync.Mutex
}

func newGeneration(dir string, bl bleve.Index, an *Analysis, w RankWeights, capacity int) *generation {
	return &generation{
		dir: dir, bl: bl, an: an, weights: w,
		docs:     newDocTable(capacity),
		writes:   make(chan writeReq, 256),
		quit:     make(chan struct{}),
		sugDirty: true,
	}
}

// startWriter runs the near-real-time batcher: it takes whatever changes
// are queued (up to maxWriteBatch), applies them as one Bleve batch —
// searchable on return — and answers every caller in the group.
func (g *generation) startWriter() {
	g.writerEnd = make(chan struct{})
	go func() {
		defer close(g.writerEnd)
		warm := time.NewTicker(warmEvery)
		defer warm.Stop()
		for {
			var group []writeReq
			select {
			case <-g.quit:
				return
			case <-warm.C:
				g.warmOrds()
				continue
			case r := <-g.writes:
				group = append(group, r)
			}
			n := len(group[0].changes)
		drain:
			for n < maxWriteBatch {
				select {
				case r := <-g.writes:
					group = append(group, r)
					n += len(r.changes)
				default:
					break drain
				}
			}
			var all []change
			for _, r := range group {
				all = append(all, r.changes...)
			}
			err := g.apply(all)
			for _, r := range group {
				r.done <- err
			}
		}
	}()
}

// warmEvery is how often the writer maps new segments (merged in the
// background) to ordinals, so searches rarely have to.
const warmEvery = time.Second

// warmOrds builds the ordinals of the current snapshot's segments.
func (g *generation) warmOrds() {
	adv, err := g.bl.Advanced()
	if err != nil {
		return
	}
	r, err := adv.Reader()
	if err != nil {
		return
	}
	defer r.Close()
	g.pmu.RLock()
	defer g.pmu.RUnlock()
	_, _ = g.ords.resolver(r, g.docs)
}

// submit queues changes and waits until they are searchable.
func (g *generation) submit(ctx context.Context, cs []change) error {
	r := writeReq{changes: cs, done: make(chan error, 1)}
	select {
	case g.writes <- r:
	case <-g.quit:
		return errRetired
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-r.done:
		return err
	case <-g.quit:
		return errRetired
	case <-ctx.Done():
		return ctx.Err()
	}
}

// apply writes changes as one batch; of several changes to one id the
// last wins. Upserted products enter the doc table before the batch (a hit
// is never missing its product), deleted ones leave it after. A product
// whose text is unchanged (a new price, sales count or live flag) only
// changes the doc table: the index holds nothing else.
func (g *generation) apply(cs []change) error {
	if len(cs) == 0 {
		return nil
	}
	final := lastChanges(cs)
	reindex := final[:0:0]
	g.pmu.Lock()
	for _, c := range final {
		if c.product != nil {
			old := g.docs.get(c.id)
			g.docs.put(c.product)
			if old != nil && sameText(old, c.product) {
				continue
			}
		}
		reindex = append(reindex, c)
	}
	g.pmu.Unlock()
	if err := g.index(reindex); err != nil {
		return err
	}
	g.pmu.Lock()
	for _, c := range final {
		if c.product == nil {
			g.docs.remove(c.id)
		}
	}
	g.pmu.Unlock()
	g.sugMu.Lock()
	g.sugDirty = true
	g.sugMu.Unlock()
	return nil
}

// sameText reports whether a and b index the same text.
func sameText(a, b *Product) bool {
	return a.Title == b.Title && a.Brand == b.Brand && a.Category == b.Category &&
		a.Description == b.Description && maps.EqualFunc(a.Attrs, b.Attrs, slices.Equal[[]string])
}

// index writes changes to Bleve as one batch.
func (g *generation) index(cs []change) error {
	if len(cs) == 0 {
		return nil
	}
	b := g.bl.NewBatch()
	for _, c := range cs {
		if c.product == nil {
			b.Delete(c.id)
			continue
		}
		if err := b.IndexAdvanced(g.an.document(c.product)); err != nil {
			return fmt.Errorf("index product %s: %w", c.id, err)
		}
	}
	if err := g.bl.Batch(b); err != nil {
		return fmt.Errorf("search index batch: %w", err)
	}
	return nil
}

// lastChanges keeps the last change of every id, in order.
func lastChanges(cs []change) []change {
	seen := make(map[string]bool, len(cs))
	out := make([]change, 0, len(cs))
	for i := len(cs) - 1; i >= 0; i-- {
		if !seen[cs[i].id] {
			seen[cs[i].id] = true
			out = append(out, cs[i])
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

func (g *generation) product(id string) *Product {
	g.pmu.RLock()
	defer g.pmu.RUnlock()
	return g.docs.get(id)
}

func (g *generation) len() int {
	g.pmu.RLock()
	defer g.pmu.RUnlock()
	return g.docs.count
}

// salesNorm is log1p of the best seller's sales (at least 1), the scale of
// the sales signal. The caller holds g.pmu.
func (g *generation) salesNorm() float64 {
	return math.Max(1, math.Log1p(float64(g.docs.maxSales)))
}

// retire stops the writer, waits for reads in flight, then closes and
// removes the generation. Safe to call more than once.
func (g *generation) retire() error {
	g.retireMu.Lock()
	defer g.retireMu.Unlock()
	if g.retired.Swap(true) {
		return nil
	}
	close(g.quit)
	if g.writerEnd != nil {
		<-g.writerEnd
	}
	for g.refs.Load() > 0 {
		time.Sleep(5 * time.Millisecond)
	}
	err := g.bl.Close()
	if rerr := os.RemoveAll(g.dir); rerr != nil && err == nil {
		err = rerr
	}
	return err
}
