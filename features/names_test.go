package features

import (
	"fmt"
	"sync"
	"testing"
)

func TestNamesInternAcrossChunks(t *testing.T) {
	ns := newNames()
	const n = 3<<nameChunkBits + 17
	for i := range n {
		if got := ns.intern(fmt.Sprint("room-", i)); got != uint32(i) {
			t.Fatalf("intern #%d = %d", i, got)
		}
	}
	for i := range n {
		if got := ns.intern(fmt.Sprint("room-", i)); got != uint32(i) {
			t.Fatalf("second intern of room-%d = %d, want %d", i, got, i)
		}
		if got := ns.name(uint32(i)); got != fmt.Sprint("room-", i) {
			t.Fatalf("name(%d) = %q", i, got)
		}
	}
	if ns.len() != n {
		t.Fatalf("len = %d, want %d", ns.len(), n)
	}
	if _, ok := ns.lookup("never"); ok {
		t.Fatal("lookup found an id never interned")
	}
}

// Readers name numbers handed to them while the writer keeps interning new
// ids into new chunks (run with -race).
func TestNamesConcurrentReaders(t *testing.T) {
	ns := newNames()
	got := make(chan uint32, 64)
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range got {
				if want := fmt.Sprint("p", i); ns.name(i) != want {
					t.Errorf("name(%d) = %q, want %q", i, ns.name(i), want)
				}
			}
		}()
	}
	for i := range 2 << nameChunkBits {
		n := ns.intern(fmt.Sprint("p", i))
		if i%7 == 0 {
			got <- n
		}
	}
	close(got)
	wg.Wait()
}

// A user's lists give back the ids they were touched with, and an unfollow
// of an anchor never interned is a no-op.
func TestRecentNamesItsItems(t *testing.T) {
	ns := newNames()
	var r recent
	r.touch(ns, "r1", 1, 1, 3, 0)
	r.touch(ns, "r2", 2, 1, 3, 0)
	r.touch(ns, "r1", 3, 2, 3, 0)
	r.touch(ns, "", 4, 1, 3, 0)
	r.remove(ns, "never")
	es := r.engagements(ns, nil)
	if len(es) != 2 || es[0].ID != "r1" || es[0].Strength != 3 || es[0].Count != 2 || es[1].ID != "r2" {
		t.Fatalf("engagements %+v", es)
	}
	r.remove(ns, "r1")
	if es := r.engagements(ns, nil); len(es) != 1 || es[0].ID != "r2" {
		t.Fatalf("after remove %+v", es)
	}
}
