package features

import (
	"strings"
	"sync"
)

const (
	shardBits = 6
	numShards = 1 << shardBits
)

// shard is one lock and the entities it guards.
type shard[T any] struct {
	mu sync.RWMutex
	m  map[string]*T
	_  [40]byte // keep neighbouring locks off one cache line
}

// table is a sharded map from id to entity: the writer locks one shard per
// update, readers take the shard's read lock for the time of one copy.
type table[T any] struct {
	shards [numShards]shard[T]
}

func newTable[T any]() *table[T] {
	t := &table[T]{}
	for i := range t.shards {
		t.shards[i].m = make(map[string]*T)
	}
	return t
}

func (t *table[T]) shard(id string) *shard[T] { return &t.shards[shardOf(id)] }

// shardOf spreads ids over the shards with a cheap hash of their last 8
// bytes and length (ids end in counters or random characters); the map
// inside the shard hashes the whole id again.
func shardOf(id string) uint64 {
	var x uint64
	n := len(id)
	for i := max(n-8, 0); i < n; i++ {
		x = x<<8 | uint64(id[i])
	}
	x ^= uint64(n)
	x *= 0x9E3779B97F4A7C15
	return x >> (64 - shardBits)
}

// lockGet locks id's shard for writing and returns its entity, creating it
// when missing. The caller unlocks sh.mu.
func (t *table[T]) lockGet(id string) (sh *shard[T], e *T, created bool) {
	sh = t.shard(id)
	sh.mu.Lock()
	e = sh.m[id]
	if e == nil {
		e = new(T)
		sh.m[strings.Clone(id)] = e
		created = true
	}
	return sh, e, created
}

// len counts the entities (locks each shard in turn).
func (t *table[T]) len() int {
	n := 0
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.RLock()
		n += len(sh.m)
		sh.mu.RUnlock()
	}
	return n
}

// sweep calls drop for every entity under the shard's write lock and deletes
// those it returns true for. It returns the number deleted.
func (t *table[T]) sweep(drop func(id string, e *T) bool) int {
	n := 0
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		for id, e := range sh.m {
			if drop(id, e) {
				delete(sh.m, id)
				n++
			}
		}
		sh.mu.Unlock()
	}
	return n
}

// each calls f for every entity under the shard's read lock.
func (t *table[T]) each(f func(id string, e *T)) {
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.RLock()
		for id, e := range sh.m {
			f(id, e)
		}
		sh.mu.RUnlock()
	}
}
