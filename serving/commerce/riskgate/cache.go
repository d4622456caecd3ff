package riskgate

import (
	"sync"
	"time"
)

// outcome is what a lookup found.
type outcome string

const (
	ranked     outcome = "ranked"
	failedOpen outcome = "failed_open"
	noOpenID   outcome = "no_openid"
)

// entry is one user's lookup, kept until expires.
type entry struct {
	outcome outcome
	rank    int
	expires time.Time
}

// cache keeps lookups per user, at most max of them.
type cache struct {
	mu      sync.Mutex
	max     int
	entries map[string]entry
	swept   time.Time // when the expired entries were last dropped
}

func (c *cache) get(userID string, now time.Time) (entry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[userID]
	if !ok || !now.Before(e.expires) {
		return entry{}, false
	}
	return e, true
}

// put stores e; when full it drops the expired entries (at most once a
// second: a sweep reads them all), then, if still full, arbitrary ones
// (Go's map order) until there is room.
func (c *cache) put(userID string, e entry, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[userID]; !ok && len(c.entries) >= c.max {
		if now.Sub(c.swept) >= time.Second {
			c.swept = now
			for k, old := range c.entries {
				if !now.Before(old.expires) {
					delete(c.entries, k)
				}
			}
		}
		for k := range c.entries {
			if len(c.entries) < c.max {
				break
			}
			delete(c.entries, k)
		}
	}
	c.entries[userID] = e
}
