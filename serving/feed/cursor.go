package feed

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"slices"
)

// maxDepth is how many items a feed serves across its pages; a cursor
// remembers every one (about three bytes each).
const maxDepth = 1000

// cursor is the state of a paged feed, carried by the client. It names the
// items already served, so a page never repeats one even when the ranking
// moved in between, and the seed of the feed's exploration, so pages of one
// feed explore alike. When nothing changed between two pages, page n+1 is
// exactly what a longer page n would have continued with.
type cursor struct {
	kind   byte   // which feed
	scope  uint32 // hash of the room of a shelf feed, else 0
	seed   uint64
	offset int      // items served so far (positions continue from here)
	served []uint32 // hashes of the served ids, sorted
}

const cursorVersion = 1

// Feed kinds in cursors.
const (
	kindRooms byte = iota + 1
	kindProducts
	kindShelf
)

var errCursor = errors.New("cursor: malformed or from another feed; pass next_cursor unchanged, or empty for the first page")

// encode appends the served ids and returns the cursor text.
func (c *cursor) encode() string {
	b := make([]byte, 0, 24+3*len(c.served))
	b = append(b, cursorVersion, c.kind)
	b = binary.LittleEndian.AppendUint32(b, c.scope)
	b = binary.LittleEndian.AppendUint64(b, c.seed)
	b = binary.AppendUvarint(b, uint64(c.offset))
	b = binary.AppendUvarint(b, uint64(len(c.served)))
	prev := uint32(0)
	for _, h := range c.served {
		b = binary.AppendUvarint(b, uint64(h-prev))
		prev = h
	}
	b = binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor parses s; an empty s is the first page.
func decodeCursor(s string, kind byte, scope uint32) (cursor, error) {
	c := cursor{kind: kind, scope: scope}
	if s == "" {
		return c, nil
	}
	if len(s) > 8192 {
		return c, errCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 2+4+8+2+4 {
		return c, errCursor
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if crc32.ChecksumIEEE(body) != sum || body[0] != cursorVersion || body[1] != kind ||
		binary.LittleEndian.Uint32(body[2:]) != scope {
		return c, errCursor
	}
	c.seed = binary.LittleEndian.Uint64(body[6:])
	r := body[14:]
	next := func() (uint64, bool) {
		v, n := binary.Uvarint(r)
		if n <= 0 {
			return 0, false
		}
		r = r[n:]
		return v, true
	}
	off, ok1 := next()
	n, ok2 := next()
	if !ok1 || !ok2 || off > maxDepth || n > maxDepth {
		return c, errCursor
	}
	c.offset = int(off)
	c.served = make([]uint32, 0, n)
	prev := uint32(0)
	for range n {
		d, ok := next()
		if !ok || d >= 1<<32 {
			return c, errCursor
		}
		prev += uint32(d)
		c.served = append(c.served, prev)
	}
	if len(r) != 0 || !slices.IsSorted(c.served) {
		return c, errCursor
	}
	return c, nil
}

// isServed reports whether the id with hash h was served on an earlier page.
func (c *cursor) isServed(h uint32) bool {
	_, ok := slices.BinarySearch(c.served, h)
	return ok
}

// next returns the cursor after a page that served hs.
func (c *cursor) next(hs []uint32) string {
	n := cursor{kind: c.kind, scope: c.scope, seed: c.seed, offset: c.offset + len(hs)}
	n.served = make([]uint32, 0, len(c.served)+len(hs))
	n.served = append(append(n.served, c.served...), hs...)
	slices.Sort(n.served)
	n.served = slices.Compact(n.served)
	return n.encode()
}

// hash32 is FNV-1a of s: the id hash cursors store.
func hash32(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

// hash64 is FNV-1a 64 of s, finalised, mixed with seed.
func hash64(seed uint64, s string) uint64 {
	h := uint64(14695981039346656037) ^ seed
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	return h
}
