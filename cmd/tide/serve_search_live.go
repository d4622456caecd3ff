package main

import (
	"context"
	"log/slog"
	"sync"

	"github.com/tide-live/tide/search"
)

// searchLive hands the room registry's on-air shelves (serving/roomfeed's
// WithOnAir) to the search index's live filter. The index is built in the
// background after the registry is up, so the latest shelves wait for it and
// go to it the moment it is attached. Its methods are safe on a nil
// *searchLive (servers built without one, in tests).
type searchLive struct {
	log     *slog.Logger
	mu      sync.Mutex // held while applying, so an older set never lands after a newer one
	shelves map[string][]string
	ix      *search.Index
}

// onAir records the rooms on air and their shelves and applies them.
func (s *searchLive) onAir(ctx context.Context, shelves map[string][]string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shelves = shelves
	s.apply(ctx)
}

// attach makes ix (nil: none) the index the shelves go to.
func (s *searchLive) attach(ctx context.Context, ix *search.Index) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ix = ix
	s.apply(ctx)
}

func (s *searchLive) apply(ctx context.Context) {
	if s.ix == nil || s.shelves == nil {
		return
	}
	if err := s.ix.SetLiveShelves(ctx, s.shelves); err != nil && ctx.Err() == nil {
		s.log.Warn("search: live filter not updated from the room registry", "err", err)
	}
}
