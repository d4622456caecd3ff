package ctr

import (
	"hash/maphash"

	"github.com/tide-live/tide/features"
)

// slot is one entry of a table: an engagement by id.
type slot struct {
	id       string
	last     int64 // ms
	strength float32
	count    int32
	used     bool
}

// table is a small open-addressing hash set of engagements, rebuilt per
// request. It keeps its capacity, so a reset after warm-up allocates
// nothing.
type table struct {
	seed  maphash.Seed
	slots []slot
	mask  uint64
	n     int
}

func (t *table) reset(es []features.Engagement) {
	if t.slots == nil {
		t.seed = maphash.MakeSeed()
	}
	need := 8
	for need < 2*len(es) {
		need <<= 1
	}
	if len(t.slots) < need {
		t.slots = make([]slot, need)
	} else if t.n > 0 {
		clear(t.slots)
	}
	t.mask = uint64(len(t.slots) - 1)
	t.n = 0
	for i := range es {
		e := &es[i]
		if e.ID == "" {
			continue
		}
		s := t.find(e.ID)
		if s.used { // a duplicate id: the lists are most recent first, keep the first
			continue
		}
		*s = slot{id: e.ID, last: e.Last.UnixMilli(), strength: float32(e.Strength), count: int32(e.Count), used: true}
		t.n++
	}
}

// find returns id's slot or the empty slot where it would go.
func (t *table) find(id string) *slot {
	i := maphash.String(t.seed, id) & t.mask
	for {
		s := &t.slots[i]
		if !s.used || s.id == id {
			return s
		}
		i = (i + 1) & t.mask
	}
}

// get returns id's engagement, or nil.
func (t *table) get(id string) *slot {
	if t.n == 0 || id == "" {
		return nil
	}
	if s := t.find(id); s.used {
		return s
	}
	return nil
}
