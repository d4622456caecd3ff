package memory

import (
	"github.com/tide-live/tide/features"
)

// Recall merges what memory holds of viewer id into f, the viewer's
// online features: remembered follows the online window does not have
// are added, and the anchor and category lists take, for each item, the
// larger of the online and remembered strength and count and the later
// time (online counts cover only the window, memory the lookback), kept
// most recent first. A viewer the online store forgot becomes Known again.
// The price band is memory's alone. A follow undone after the last Reload
// stays until the next one.
func (m *Memory) Recall(id string, f *features.UserFeatures) {
	p := m.p.Load()
	if p == nil {
		return
	}
	v := (*p)[id]
	if v == nil {
		return
	}
	f.Known = true
	if f.ID == "" {
		f.ID = id
	}
	f.Follows = merge(f.Follows, v.follows)
	f.Anchors = merge(f.Anchors, v.anchors)
	f.Categories = merge(f.Categories, v.categories)
	if v.price.Known() {
		f.PriceBand = v.price
	}
}

// merge folds long into online and restores most-recent-first order.
func merge(online, long []features.Engagement) []features.Engagement {
	if len(long) == 0 {
		return online
	}
	n := len(online)
next:
	for _, l := range long {
		for i := range online[:n] {
			if o := &online[i]; o.ID == l.ID {
				o.Strength, o.Count = max(o.Strength, l.Strength), max(o.Count, l.Count)
				if l.Last.After(o.Last) {
					o.Last = l.Last
				}
				continue next
			}
		}
		online = append(online, l)
	}
	byRecency(online)
	return online
}
