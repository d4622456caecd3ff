package search

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
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
// holds (for hydrating hits, live flags and suggestions).
type generation struct {
	dir     string
	bl      bleve.Index
	an      *Analysis
	weights RankWeights

	pmu      sync.RWMutex
	products map[string]*Product
	maxSales int64

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

func newGeneration(dir string, bl bleve.Index, an *Analysis, w RankWeights) *generation {
	return &generation{
		dir: dir, bl: bl, an: an, weights: w,
		products: make(map[string]*Product),
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
		for {
			var group []writeReq
			select {
			case <-g.quit:
				return
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

// apply writes changes as one batch. Upserted products enter the product
// map before the batch (a hit is never missing its product), deleted ones
// leave it after.
func (g *generation) apply(cs []change) error {
	if len(cs) == 0 {
		return nil
	}
	b := g.bl.NewBatch()
	g.pmu.Lock()
	for _, c := range cs {
		if c.product != nil {
			g.products[c.id] = c.product
			g.maxSales = max(g.maxSales, c.product.Sales)
		}
	}
	g.pmu.Unlock()
	for _, c := range cs {
		if c.product == nil {
			b.Delete(c.id)
			continue
		}
		if err := b.Index(c.id, document(c.product)); err != nil {
			return fmt.Errorf("index product %s: %w", c.id, err)
		}
	}
	if err := g.bl.Batch(b); err != nil {
		return fmt.Errorf("search index batch: %w", err)
	}
	g.pmu.Lock()
	for _, c := range cs {
		if c.product == nil {
			delete(g.products, c.id)
		}
	}
	g.pmu.Unlock()
	g.sugMu.Lock()
	g.sugDirty = true
	g.sugMu.Unlock()
	return nil
}

func (g *generation) product(id string) *Product {
	g.pmu.RLock()
	defer g.pmu.RUnlock()
	return g.products[id]
}

func (g *generation) len() int {
	g.pmu.RLock()
	defer g.pmu.RUnlock()
	return len(g.products)
}

// salesNorm is log1p of the best seller's sales (at least 1), the scale of
// the sales signal.
func (g *generation) salesNorm() float64 {
	g.pmu.RLock()
	defer g.pmu.RUnlock()
	return math.Max(1, math.Log1p(float64(g.maxSales)))
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
