package feed

import (
	"context"
	"net/http"
	"sync"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// roomPage is a room feed response and its cards in one piece of memory
// that the Connect handler reuses: the cards are most of what a feed
// request allocates, and the handler knows when the response has been
// written. Service.Rooms called directly hands out fresh memory.
type roomPage struct {
	resp    tidev1.RoomsResponse
	backing []tidev1.RoomItem
	items   []*tidev1.RoomItem
}

// cards returns n empty cards, in order, and the page's response pointing
// at them.
func (p *roomPage) cards(n int) []*tidev1.RoomItem {
	if cap(p.backing) < n {
		p.backing = make([]tidev1.RoomItem, n)
		p.items = make([]*tidev1.RoomItem, n)
	}
	p.backing, p.items = p.backing[:n], p.items[:n]
	for k := range p.items {
		p.items[k] = &p.backing[k]
	}
	return p.items
}

// reset empties the page, dropping what it referenced.
func (p *roomPage) reset() {
	for k := range p.backing {
		p.backing[k].Reset()
	}
	clear(p.items)
	p.resp.Reset()
}

// newRoomCards returns n fresh cards: the memory of a response that leaves
// the service.
func newRoomCards(n int) []*tidev1.RoomItem {
	backing := make([]tidev1.RoomItem, n)
	items := make([]*tidev1.RoomItem, n)
	for k := range items {
		items[k] = &backing[k]
	}
	return items
}

// pageScope holds the pooled pages of one HTTP request until its response
// has been written.
type pageScope struct {
	pages []*roomPage
}

type pageScopeKey struct{}

// pagePools are the Connect handler's reusable pages and scopes.
type pagePools struct {
	pages, scopes sync.Pool
}

// page returns a pooled page owned by the request's scope, or nil outside
// a scope (the caller allocates).
func (pp *pagePools) page(ctx context.Context) *roomPage {
	sc, ok := ctx.Value(pageScopeKey{}).(*pageScope)
	if !ok {
		return nil
	}
	p, ok := pp.pages.Get().(*roomPage)
	if !ok {
		p = &roomPage{}
	}
	sc.pages = append(sc.pages, p)
	return p
}

// serve runs h with a scope, then returns the scope's pages to the pool:
// by then the response is marshalled and written.
func (pp *pagePools) serve(h http.Handler, w http.ResponseWriter, r *http.Request) {
	sc, ok := pp.scopes.Get().(*pageScope)
	if !ok {
		sc = &pageScope{}
	}
	h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), pageScopeKey{}, sc)))
	for k, p := range sc.pages {
		p.reset()
		pp.pages.Put(p)
		sc.pages[k] = nil
	}
	sc.pages = sc.pages[:0]
	pp.scopes.Put(sc)
}
