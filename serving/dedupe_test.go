package serving

import (
	"fmt"
	"testing"
)

func TestRecentIDsWindow(t *testing.T) {
	r := newRecentIDs(100)
	ids := func(from, to int) []string {
		var out []string
		for i := from; i < to; i++ {
			out = append(out, fmt.Sprint("e", i))
		}
		return out
	}
	r.add(ids(0, 50))
	dup := make([]bool, 60)
	r.seen(ids(0, 60), dup)
	for i, d := range dup {
		if d != (i < 50) {
			t.Fatalf("id %d: seen=%v", i, d)
		}
	}
	r.add(ids(50, 150)) // the window keeps the last 100: 0..49 are forgotten
	dup = make([]bool, 150)
	r.seen(ids(0, 150), dup)
	for i, d := range dup {
		if d != (i >= 50) {
			t.Fatalf("after 150 ids, id %d: seen=%v", i, d)
		}
	}
	// A hit in the old generation is refreshed into the current one.
	r = newRecentIDs(4)
	r.add([]string{"a", "b", "c"})         // cur={c}, old={a,b}
	r.seen([]string{"a"}, make([]bool, 1)) // refresh a: cur={c,a}
	r.add([]string{"d"})                   // cur={d}, old={c,a}
	dup = make([]bool, 2)
	r.seen([]string{"a", "b"}, dup)
	if !dup[0] || dup[1] {
		t.Fatalf("LRU refresh: a=%v b=%v, want true false", dup[0], dup[1])
	}
}
