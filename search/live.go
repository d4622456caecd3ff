package search

import (
	"context"
	"slices"
	"sync"
)

// liveShelves is what SetLiveShelves last said: which product is on the
// shelf of which live room. Upsert and Rebuild apply it, so a catalog change
// or a rebuild (whose products come from the catalog, which knows nothing of
// rooms) does not drop a product from the live filter while its room is on
// air.
type liveShelves struct {
	mu    sync.Mutex
	rooms map[string]string // product id → live room id
}

// roomOf returns the live room whose shelf holds product id.
func (l *liveShelves) roomOf(id string) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r, ok := l.rooms[id]
	return r, ok
}

// overlay marks the catalog's products that are on a live room's shelf.
func (l *liveShelves) overlay(catalog []Product) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range catalog {
		if r, ok := l.rooms[catalog[i].ID]; ok {
			catalog[i].LiveNow, catalog[i].LiveRoomID = true, r
		}
	}
}

// SetLiveShelves says which rooms are on air now and the products on each
// one's shelf (room id → product ids); every product on none of them leaves
// the live filter (Filter.LiveOnly). The room registry calls it after every
// change (a stream start, end or ban, a shelf edit), so search's live filter
// follows the rooms without re-indexing: only the changed products' doc
// entries are rewritten. A product on several live shelves is credited to
// the first room in id order. Unknown product ids are ignored.
func (ix *Index) SetLiveShelves(ctx context.Context, byRoom map[string][]string) error {
	next := map[string]string{}
	rooms := make([]string, 0, len(byRoom))
	for r := range byRoom {
		rooms = append(rooms, r)
	}
	slices.Sort(rooms)
	for _, r := range rooms {
		for _, id := range byRoom[r] {
			if _, taken := next[id]; !taken {
				next[id] = r
			}
		}
	}
	ix.live.mu.Lock()
	prev := ix.live.rooms
	ix.live.rooms = next
	ix.live.mu.Unlock()

	var ps []Product
	for id, r := range next {
		if p, ok := ix.Get(id); ok && (!p.LiveNow || p.LiveRoomID != r) {
			p.LiveNow, p.LiveRoomID = true, r
			ps = append(ps, p)
		}
	}
	for id := range prev {
		if _, still := next[id]; still {
			continue
		}
		if p, ok := ix.Get(id); ok && p.LiveNow {
			p.LiveNow, p.LiveRoomID = false, ""
			ps = append(ps, p)
		}
	}
	if len(ps) == 0 {
		return nil
	}
	return ix.Upsert(ctx, ps...)
}
