package ranker

import (
	"github.com/tide-live/tide/ranker/mf"
	"github.com/tide-live/tide/ranker/neighbors"
	"github.com/tide-live/tide/ranker/rerank"
)

// Blend holds the weights of the model's components in the final score:
//
//	score(c) = Seq·seq(c) + Co·co(c) + MF·mf(c) + Trend·trend(c) + Pop·pop(c)
//
// seq and co sum the history items' neighbour weights (history weights sum
// to 1), mf is the folded-in user vector's dot product with the item, trend
// is the item's popularity in the window before the history's latest event
// and pop is log(1+count)/log(1+max count) in [0,1]; pop and trend are the
// back-off for users with little usable history.
type Blend struct {
	Seq   float32
	Co    float32
	MF    float32
	Trend float32
	Pop   float32
}

// HistoryConfig controls how a history is turned into per-item weights.
type HistoryConfig struct {
	// Decay multiplies an item's weight for each step it lies back from the
	// most recent one (1 = all equal).
	Decay float64
	// DecayByTime counts steps between distinct timestamps instead of
	// positions, so items bought together weigh the same.
	DecayByTime bool
	// MaxLen caps the history at its most recent MaxLen items (0 = no cap).
	MaxLen int
}

// Config is everything Train needs. MF.Factors == 0 disables the matrix
// factorisation component.
type Config struct {
	Neighbors neighbors.Config
	MF        mf.Config
	History   HistoryConfig
	// TrendWindowDays is the look-back of the trend component (0 disables it).
	TrendWindowDays int
	Blend           Blend
	// Rerank is the learned second stage (Candidates 0 disables it).
	Rerank RerankConfig
}

// DefaultConfig returns the production settings, chosen on the validation
// split of the amazon-grocery data (ranker/offline).
func DefaultConfig() Config {
	return Config{
		Neighbors:       neighbors.DefaultConfig(),
		MF:              mf.DefaultConfig(),
		History:         HistoryConfig{Decay: 0.3, DecayByTime: true, MaxLen: 50},
		TrendWindowDays: 30,
		Blend:           Blend{Seq: 1, Co: 0.1, MF: 0.16, Trend: 0.1, Pop: 0.007},
		Rerank:          RerankConfig{Candidates: 200, Targets: 2, Fit: rerank.DefaultConfig()},
	}
}
