package livesim

// Exposure names how a page of room cards was chosen, in the
// AttrExposure attribute of its ROOM_IMPRESSION events.
const (
	// AttrExposure is the impression attribute naming the exposure.
	AttrExposure = "exposure"
	// ExposureExplore marks a page of live rooms drawn uniformly at random
	// (WithExploreShare): which rooms a viewer enters from it shows their
	// preferences free of the simulator's exposure policy (follows first,
	// then by popularity and category).
	ExposureExplore = "explore"
)

// WithExploreShare shows a share p in [0, 1] of the feed pages as an
// exploration slice: live rooms drawn uniformly at random, their
// impressions marked with AttrExposure = ExposureExplore. The default 0
// leaves the simulation exactly as without it.
func WithExploreShare(p float64) Option {
	return func(c *config) { c.explore = min(max(p, 0), 1) }
}

// explorePage replaces the first n candidates of a page with up to k live
// rooms drawn uniformly at random, when this page falls in the
// exploration slice; it returns the page's length and whether it did.
func (s *Sim) explorePage(cand *[6]int32, n, k int) (int, bool) {
	if s.cfg.explore <= 0 || s.nLive == 0 || !s.chance(s.cfg.explore) {
		return n, false
	}
	n = 0
	for tries := 0; n < min(k, s.nLive) && tries < 10*k; tries++ {
		r := int32(s.rng.IntN(len(s.rooms)))
		if s.rooms[r].live {
			n = addCand(cand, n, r)
		}
	}
	return n, true
}
