package features

import (
	"strings"
	"sync"
	"sync/atomic"
)

// names interns the ids users' recency lists hold (rooms, products,
// categories, anchors), so that a list entry names its item by a number and
// holds no pointer. A store of 100k users keeps millions of entries: as
// strings each was an object the garbage collector had to mark on every
// cycle, and the lists had to be scanned; as numbers the lists are
// pointer-free memory the collector skips, and each distinct id is one
// string. Ids are never forgotten: they are the catalogue's rooms,
// products, categories and merchants, which the lists are bounded by.
//
// name is lock-free: the chunks an id lives in never move, and a reader
// only asks for a number it read from an entry written after the id was
// interned (under the same shard lock), so the id's slot is visible to it.
type names struct {
	mu     sync.Mutex
	ids    map[string]uint32 // guarded by mu
	n      uint32            // ids interned; guarded by mu
	chunks atomic.Pointer[[]*nameChunk]
}

const nameChunkBits = 12

type nameChunk [1 << nameChunkBits]string

func newNames() *names {
	ns := &names{ids: make(map[string]uint32)}
	ns.chunks.Store(&[]*nameChunk{})
	return ns
}

// intern returns id's number, adding id if it is new.
func (ns *names) intern(id string) uint32 {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if i, ok := ns.ids[id]; ok {
		return i
	}
	i := ns.n
	cs := *ns.chunks.Load()
	if int(i>>nameChunkBits) == len(cs) {
		grown := append(cs[:len(cs):len(cs)], new(nameChunk))
		ns.chunks.Store(&grown)
		cs = grown
	}
	id = strings.Clone(id)
	cs[i>>nameChunkBits][i&(1<<nameChunkBits-1)] = id
	ns.ids[id] = i
	ns.n++
	return i
}

// lookup returns id's number if it was interned.
func (ns *names) lookup(id string) (uint32, bool) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	i, ok := ns.ids[id]
	return i, ok
}

// name returns the id of number i (from intern).
func (ns *names) name(i uint32) string {
	return (*ns.chunks.Load())[i>>nameChunkBits][i&(1<<nameChunkBits-1)]
}

// len is the number of ids interned.
func (ns *names) len() int {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	return int(ns.n)
}
