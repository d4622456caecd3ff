package ranker

import (
	"fmt"
	"slices"
)

// EventKind is the kind of user action behind an interaction. Kinds are
// ordered by how much intent they show.
type EventKind uint8

// Event kinds, weakest signal first.
const (
	KindShortView EventKind = iota // a view shorter than EventWeights.ShortViewMillis
	KindView                       // product or room view
	KindClick                      // product click
	KindAddToCart                  // add to cart
	KindOrder                      // order created or paid
)

// EventWeights maps event kinds to interaction weights (the "confidence" an
// implicit-feedback model puts on an interaction). Weights must be positive;
// the default ordering is short view < view < click < add-to-cart < order.
type EventWeights struct {
	ShortView float32
	View      float32
	Click     float32
	AddToCart float32
	Order     float32
	// ShortViewMillis is the dwell below which a view counts as short.
	ShortViewMillis int64
}

// DefaultEventWeights returns the weights used when none are configured.
func DefaultEventWeights() EventWeights {
	return EventWeights{ShortView: 0.1, View: 0.3, Click: 0.5, AddToCart: 0.8, Order: 1, ShortViewMillis: 3000}
}

// Weight returns the weight of an event of kind k.
func (w EventWeights) Weight(k EventKind) float32 {
	switch k {
	case KindShortView:
		return w.ShortView
	case KindView:
		return w.View
	case KindClick:
		return w.Click
	case KindAddToCart:
		return w.AddToCart
	default:
		return w.Order
	}
}

// ForView returns the weight of a view that lasted dwellMillis.
func (w EventWeights) ForView(dwellMillis int64) float32 {
	if dwellMillis < w.ShortViewMillis {
		return w.ShortView
	}
	return w.View
}

// Event is one interaction in a user's history.
type Event struct {
	Item   ItemID
	Time   int64   // Unix seconds
	Weight float32 // from EventWeights; 0 is treated as 1
}

// History is a user's interactions, oldest first. Order matters: the models
// weight recent items more and learn what is bought next.
type History []Event

// Interactions is a columnar log of (user, item, time, weight) rows with the
// id maps that give users and items their dense indices.
type Interactions struct {
	Users  *IDMap
	Items  *IDMap
	User   []UserID
	Item   []ItemID
	Time   []int64
	Weight []float32
}

// NewInteractions returns an empty log with fresh id maps.
func NewInteractions() *Interactions {
	return &Interactions{Users: NewIDMap(), Items: NewIDMap()}
}

// Add appends one interaction, interning the external user and item ids.
func (x *Interactions) Add(user, item string, unixTime int64, weight float32) {
	x.AddIndexed(UserID(x.Users.Intern(user)), ItemID(x.Items.Intern(item)), unixTime, weight)
}

// AddIndexed appends one interaction for already-interned indices.
func (x *Interactions) AddIndexed(u UserID, i ItemID, unixTime int64, weight float32) {
	x.User = append(x.User, u)
	x.Item = append(x.Item, i)
	x.Time = append(x.Time, unixTime)
	x.Weight = append(x.Weight, weight)
}

// Len is the number of interactions.
func (x *Interactions) Len() int { return len(x.User) }

// NumItems is the number of distinct items.
func (x *Interactions) NumItems() int { return x.Items.Len() }

// Validate checks that the columns have equal lengths and indices are in range.
func (x *Interactions) Validate() error {
	n := len(x.User)
	if len(x.Item) != n || len(x.Time) != n || len(x.Weight) != n {
		return fmt.Errorf("ranker: interaction columns differ in length (%d users, %d items, %d times, %d weights)",
			n, len(x.Item), len(x.Time), len(x.Weight))
	}
	for r := range n {
		if int(x.User[r]) >= x.Users.Len() || x.User[r] < 0 || int(x.Item[r]) >= x.Items.Len() || x.Item[r] < 0 {
			return fmt.Errorf("ranker: interaction %d has an index out of range", r)
		}
	}
	return nil
}

// Histories groups the log by user: element u is user u's history sorted by
// time. Rows with equal times keep their log order (a stable sort), which is
// the convention of the public data sets.
func (x *Interactions) Histories() []History {
	counts := make([]int, x.Users.Len())
	for _, u := range x.User {
		counts[u]++
	}
	backing := make([]Event, len(x.User))
	hs := make([]History, len(counts))
	off := 0
	for u, c := range counts {
		hs[u] = backing[off : off : off+c]
		off += c
	}
	for r, u := range x.User {
		hs[u] = append(hs[u], Event{Item: x.Item[r], Time: x.Time[r], Weight: x.Weight[r]})
	}
	for _, h := range hs {
		slices.SortStableFunc(h, func(a, b Event) int {
			switch {
			case a.Time < b.Time:
				return -1
			case a.Time > b.Time:
				return 1
			}
			return 0
		})
	}
	return hs
}
