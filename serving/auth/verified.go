package auth

import (
	"sync"
	"time"
)

// DefaultVerifiedTokens is how many verified session tokens Tokens keeps
// (WithVerifiedTokens): about 50 MB at most (a token of ~220 bytes, its
// principal and the map entry), enough for the users active on one replica
// at once.
const DefaultVerifiedTokens = 1 << 17

// verifiedToken is what a full verification of a token established: who it
// names and the times that bound its validity, rechecked on every use.
type verifiedToken struct {
	p        Principal
	issuedAt time.Time
}

// verifiedTokens remembers tokens whose signature, key id, issuer and
// subject checked out, keyed by the whole token string (so a token that
// differs in any byte is verified in full), so that each call of a
// signed-in user does not redo the HMAC and JSON work. Expiry and issue
// time are rechecked against the clock on every hit. It holds at most max
// tokens in two generations: a hit in the previous generation moves the
// token to the current one, and when a new token would take the two past
// max, the current generation becomes the previous one and the old
// previous one (the tokens not used since) is dropped. So a set of tokens
// in use that fits in max stays remembered (after one rotation, its hits
// all land in the current generation under the read lock), however long
// it is used.
type verifiedTokens struct {
	max int

	mu        sync.RWMutex
	cur, prev map[string]verifiedToken
}

func newVerifiedTokens(max int) *verifiedTokens {
	if max <= 0 {
		return nil
	}
	return &verifiedTokens{max: max, cur: make(map[string]verifiedToken)}
}

// get returns the verified token, if remembered.
func (c *verifiedTokens) get(token string) (verifiedToken, bool) {
	c.mu.RLock()
	v, ok := c.cur[token]
	if ok {
		c.mu.RUnlock()
		return v, true
	}
	v, ok = c.prev[token]
	c.mu.RUnlock()
	if ok {
		c.put(token, v)
	}
	return v, ok
}

// put remembers a verified token.
func (c *verifiedTokens) put(token string, v verifiedToken) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, moving := c.prev[token]; moving {
		delete(c.prev, token)
	} else if _, ok := c.cur[token]; !ok && len(c.cur)+len(c.prev) >= c.max {
		c.prev, c.cur = c.cur, make(map[string]verifiedToken, len(c.cur))
		for k := range c.prev { // the current generation had filled alone: make room for token
			if len(c.prev) < c.max {
				break
			}
			delete(c.prev, k)
		}
	}
	c.cur[token] = v
}

// drop forgets a token (it expired).
func (c *verifiedTokens) drop(token string) {
	c.mu.Lock()
	delete(c.cur, token)
	delete(c.prev, token)
	c.mu.Unlock()
}

// len is the number of tokens remembered.
func (c *verifiedTokens) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.cur) + len(c.prev)
}
