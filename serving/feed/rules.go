package feed

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
)

// Surfaces of the feed, as experiments and rules name them.
const (
	SurfaceRooms    = "rooms"    // FeedService.Rooms
	SurfaceProducts = "products" // FeedService.Products (for-you and a room's shelf)
	SurfaceSimilar  = "similar"  // FeedService.Similar
)

// Rules are the operators' hand on the feeds: pins put an item at a fixed
// position, boosts multiply the scores of items, merchants or categories.
type Rules struct {
	Pins   []Pin   `json:"pins,omitempty"`
	Boosts []Boost `json:"boosts,omitempty"`
}

// Pin puts a room (in the room feed) or a product (in the for-you feed, or
// on one room's shelf with RoomID) at Position, counted from 0, while it is
// live or on sale. A pinned item skips fatigue and diversity.
type Pin struct {
	RoomID    string `json:"room_id,omitempty"`
	ProductID string `json:"product_id,omitempty"`
	Position  int    `json:"position"`
}

// Boost multiplies the score of the rooms and products matching every field
// that is set (RoomID, ProductID, MerchantID, Category) by Factor (> 0; less
// than 1 demotes).
type Boost struct {
	RoomID     string  `json:"room_id,omitempty"`
	ProductID  string  `json:"product_id,omitempty"`
	MerchantID string  `json:"merchant_id,omitempty"`
	Category   string  `json:"category,omitempty"`
	Factor     float64 `json:"factor"`
}

// ErrRules is wrapped by rule validation errors.
var ErrRules = errors.New("feed rules")

// Validate checks positions and factors.
func (r Rules) Validate() error {
	for i, p := range r.Pins {
		switch {
		case p.RoomID == "" && p.ProductID == "":
			return fmt.Errorf("%w: pins[%d]: room_id or product_id is required", ErrRules, i)
		case p.Position < 0 || p.Position >= maxDepth:
			return fmt.Errorf("%w: pins[%d]: position %d is not in [0, %d)", ErrRules, i, p.Position, maxDepth)
		}
	}
	for i, b := range r.Boosts {
		switch {
		case !(b.Factor > 0):
			return fmt.Errorf("%w: boosts[%d]: factor %v must be positive", ErrRules, i, b.Factor)
		case b.RoomID == "" && b.ProductID == "" && b.MerchantID == "" && b.Category == "":
			return fmt.Errorf("%w: boosts[%d]: names nothing to boost", ErrRules, i)
		}
	}
	return nil
}

// LoadRules reads rules from a JSON file.
func LoadRules(path string) (Rules, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Rules{}, fmt.Errorf("feed: %w", err)
	}
	var r Rules
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return Rules{}, fmt.Errorf("%s: %w: %w", path, ErrRules, err)
	}
	if err := r.Validate(); err != nil {
		return Rules{}, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// compiledRules is Rules arranged for the hot path.
type compiledRules struct {
	version     uint64
	roomPins    []Pin            // room feed, by position
	productPins []Pin            // for-you products, by position
	shelfPins   map[string][]Pin // room id → shelf pins, by position
	boosts      []Boost
}

func compileRules(r Rules, version uint64) *compiledRules {
	c := &compiledRules{version: version, boosts: slices.Clone(r.Boosts), shelfPins: map[string][]Pin{}}
	for _, p := range r.Pins {
		switch {
		case p.ProductID == "":
			c.roomPins = append(c.roomPins, p)
		case p.RoomID == "":
			c.productPins = append(c.productPins, p)
		default:
			c.shelfPins[p.RoomID] = append(c.shelfPins[p.RoomID], p)
		}
	}
	byPos := func(a, b Pin) int { return a.Position - b.Position }
	slices.SortStableFunc(c.roomPins, byPos)
	slices.SortStableFunc(c.productPins, byPos)
	for _, ps := range c.shelfPins {
		slices.SortStableFunc(ps, byPos)
	}
	return c
}

// roomBoost is the product of the boosts matching a room.
func (c *compiledRules) roomBoost(id, merchant, category string) float64 {
	f := 1.0
	for _, b := range c.boosts {
		if b.ProductID != "" || (b.RoomID != "" && b.RoomID != id) ||
			(b.MerchantID != "" && b.MerchantID != merchant) || (b.Category != "" && b.Category != category) {
			continue
		}
		f *= b.Factor
	}
	return f
}

// productBoost is the product of the boosts matching a product.
func (c *compiledRules) productBoost(id, merchant, category string) float64 {
	f := 1.0
	for _, b := range c.boosts {
		if b.RoomID != "" || (b.ProductID != "" && b.ProductID != id) ||
			(b.MerchantID != "" && b.MerchantID != merchant) || (b.Category != "" && b.Category != category) {
			continue
		}
		f *= b.Factor
	}
	return f
}
