package ratelimit

import (
	"container/list"
	"hash/maphash"
	"sync"

	"golang.org/x/time/rate"
)

// shards splits the bucket table so that concurrent requests for different
// keys rarely wait on the same lock.
const shards = 16

// buckets is a bounded table of token buckets, least recently used evicted
// first. Evicting a bucket forgets only how empty it was: an idle bucket has
// refilled to its burst anyway, which is what a new one starts with.
type buckets struct {
	seed   maphash.Seed
	shards [shards]shard
}

type shard struct {
	mu    sync.Mutex
	max   int
	items map[string]*list.Element
	order list.List // front: most recently used
}

type entry struct {
	key string
	lim *rate.Limiter
}

func newBuckets(maxKeys int) *buckets {
	b := &buckets{seed: maphash.MakeSeed()}
	per := (maxKeys + shards - 1) / shards
	if per < 1 {
		per = 1
	}
	for i := range b.shards {
		b.shards[i].max = per
		b.shards[i].items = make(map[string]*list.Element)
	}
	return b
}

// with runs fn on key's limiter (made by mk when key is new) under the
// shard's lock.
func (b *buckets) with(key string, mk func() *rate.Limiter, fn func(*rate.Limiter)) {
	s := &b.shards[maphash.String(b.seed, key)%shards]
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.items[key]; ok {
		s.order.MoveToFront(el)
		fn(el.Value.(*entry).lim)
		return
	}
	for len(s.items) >= s.max {
		old := s.order.Back()
		s.order.Remove(old)
		delete(s.items, old.Value.(*entry).key)
	}
	e := &entry{key: key, lim: mk()}
	s.items[key] = s.order.PushFront(e)
	fn(e.lim)
}

// len is the number of buckets held.
func (b *buckets) len() int {
	n := 0
	for i := range b.shards {
		s := &b.shards[i]
		s.mu.Lock()
		n += len(s.items)
		s.mu.Unlock()
	}
	return n
}
