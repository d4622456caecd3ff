package serving

import (
	"hash/maphash"
	"sync"
)

// recentIDs is the dedupe window of Track: the event_ids of recently stored
// events, so a client that retries a batch after a lost answer does not put
// its events on the topic twice.
//
// It is an approximate LRU in two generations of hashes: ids go into the
// current generation; when that holds capacity/2 ids it becomes the old one
// and the previous old one is dropped; an id found in the old generation is
// moved back into the current one. So the window remembers at least the last
// capacity/2 ids and at most capacity, in about 12 bytes per id (64-bit
// hashes; a false "seen" needs a 64-bit collision within the window).
//
// It is best effort, in one process: retries that reach another replica, or
// arrive after the window moved on, or race the first attempt, still produce
// duplicates. Exactly-once counting is the job of the consumers, which count
// each event_id once.
type recentIDs struct {
	mu       sync.Mutex
	seed     maphash.Seed
	half     int
	cur, old map[uint64]struct{}
}

func newRecentIDs(capacity int) *recentIDs {
	half := max(capacity/2, 1)
	return &recentIDs{seed: maphash.MakeSeed(), half: half, cur: make(map[uint64]struct{}, half)}
}

func (r *recentIDs) hash(id string) uint64 { return maphash.String(r.seed, id) }

// seen reports which of ids were stored recently, then refreshes those found
// (after checking all, so a refresh that turns the generations over cannot
// hide an id of the same call). dup[i] is set for ids[i] seen before.
func (r *recentIDs) seen(ids []string, dup []bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var refresh []uint64
	for i, id := range ids {
		h := r.hash(id)
		if _, ok := r.cur[h]; ok {
			dup[i] = true
			continue
		}
		if _, ok := r.old[h]; ok {
			dup[i] = true
			refresh = append(refresh, h)
		}
	}
	for _, h := range refresh {
		r.insert(h)
	}
}

// add records ids as stored.
func (r *recentIDs) add(ids []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range ids {
		r.insert(r.hash(id))
	}
}

func (r *recentIDs) insert(h uint64) {
	if len(r.cur) >= r.half {
		r.old, r.cur = r.cur, make(map[uint64]struct{}, r.half)
	}
	r.cur[h] = struct{}{}
}
