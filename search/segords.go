package search

import (
	"sync"

	"github.com/blevesearch/bleve/v2/index/scorch"
	index "github.com/blevesearch/bleve_index_api"
)

// noOrd marks a segment document without a doc-table row.
const noOrd = ^uint32(0)

// ordCache maps each Bleve segment (immutable once built) to the doc-table
// ordinals of its documents, so the collector resolves a match by
// arithmetic on its internal number instead of loading its external id and
// looking that up: for a search matching thousands of products this was
// most of the collector's cost.
type ordCache struct {
	mu   sync.Mutex
	segs map[any][]uint32 // segment.Segment → ordinal by local doc number
}

// ordResolver resolves the matches of one snapshot, which arrive in
// increasing internal number.
type ordResolver struct {
	offsets []uint64   // first global doc number of each segment
	ords    [][]uint32 // by segment, by local doc number
	cur     int
	// fallback when the reader is not a scorch snapshot
	reader index.IndexReader
	t      *docTable
}

// resolver prepares the ordinals of reader's segments, building those of
// segments not seen before. The caller holds g.pmu (reading the ords map).
func (c *ordCache) resolver(reader index.IndexReader, t *docTable) (*ordResolver, error) {
	snap, ok := reader.(*scorch.IndexSnapshot)
	if !ok {
		return &ordResolver{reader: reader, t: t}, nil
	}
	segs := snap.Segments()
	r := &ordResolver{offsets: make([]uint64, len(segs)), ords: make([][]uint32, len(segs))}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.segs == nil {
		c.segs = map[any][]uint32{}
	}
	var running uint64
	live := make(map[any]bool, len(segs))
	for i, ss := range segs {
		seg := any(ss.Segment())
		live[seg] = true
		r.offsets[i] = running
		n := ss.Segment().Count()
		running += n
		ords, ok := c.segs[seg]
		if !ok {
			ords = make([]uint32, n)
			for local := range ords {
				id, err := ss.DocID(uint64(local))
				if err != nil {
					return nil, err
				}
				o, ok := t.ords[string(id)]
				if !ok {
					o = noOrd
				}
				ords[local] = o
			}
			c.segs[seg] = ords
		}
		r.ords[i] = ords
	}
	if len(c.segs) > 2*len(segs)+8 {
		for seg := range c.segs {
			if !live[seg] {
				delete(c.segs, seg) // merged away; a search on an older snapshot rebuilds it
			}
		}
	}
	return r, nil
}

// ord returns the doc-table ordinal of a match.
func (r *ordResolver) ord(id index.IndexInternalID) (uint32, error) {
	if r.reader != nil {
		ext, err := r.reader.ExternalID(id)
		if err != nil {
			return noOrd, err
		}
		if o, ok := r.t.ords[ext]; ok {
			return o, nil
		}
		return noOrd, nil
	}
	n := id.Value()
	if r.cur >= len(r.offsets) || n < r.offsets[r.cur] {
		r.cur = 0 // out of order: start over
	}
	for r.cur+1 < len(r.offsets) && n >= r.offsets[r.cur+1] {
		r.cur++
	}
	local := n - r.offsets[r.cur]
	if r.cur >= len(r.ords) || local >= uint64(len(r.ords[r.cur])) {
		return noOrd, nil
	}
	return r.ords[r.cur][local], nil
}
