package ctr

import (
	"math"
	"time"

	"github.com/tide-live/tide/features"
	"github.com/tide-live/tide/ranker"
)

// Unavailable is the score ScoreRooms gives a room that is not live: below
// every probability, and such a room must not be shown.
const Unavailable = -1.0

// Kind says what a model's candidates are.
type Kind string

// The kinds of candidates.
const (
	Rooms    Kind = "rooms"    // ROOM_IMPRESSION → ROOM_ENTER
	Products Kind = "products" // PRODUCT_IMPRESSION → PRODUCT_CLICK
)

// Metrics describe a fitted model.
type Metrics struct {
	Samples   int     `json:"samples"`    // training impressions
	Positives int     `json:"positives"`  // of which led to an enter or click
	TrainAUC  float64 `json:"train_auc"`  // on the training samples
	TestAUC   float64 `json:"test_auc"`   // on the held-out (later) samples; 0 when none
	TestN     int     `json:"test_n"`     // held-out samples
	LogLoss   float64 `json:"log_loss"`   // mean log loss on the held-out samples (training if none)
	BaseRate  float64 `json:"base_rate"`  // positives / samples
	Iters     int     `json:"iterations"` // optimiser iterations
}

// Model is a fitted logistic regression over Features. It is immutable and
// safe for concurrent use; use it by pointer.
type Model struct {
	Kind Kind
	// Names are the feature names, by index (RoomNames or ProductNames).
	Names []string
	// Weights apply to standardised features (x−Mean)·Scale; Bias is the
	// intercept.
	Weights [N]float64
	Bias    float64
	// Mean and Scale (1/standard deviation, 0 for a constant feature) are
	// the standardisation parameters of the training data.
	Mean, Scale [N]float64
	// L2 is the regularisation the model was fitted with.
	L2        float64
	Metrics   Metrics
	TrainedAt time.Time

	eff  [N]float64 // Weights·Scale: weights on raw features
	effB float64
}

// init folds the standardisation into weights on raw features.
func (m *Model) init() {
	m.effB = m.Bias
	for i := range N {
		m.eff[i] = m.Weights[i] * m.Scale[i]
		m.effB -= m.eff[i] * m.Mean[i]
	}
}

// Logit returns the log-odds of x.
func (m *Model) Logit(x *Features) float64 {
	z := m.effB
	for i := range N {
		z += m.eff[i] * x[i]
	}
	return z
}

// Predict returns the probability that a viewer shown the candidate x
// enters (clicks) it.
func (m *Model) Predict(x *Features) float64 { return sigmoid(m.Logit(x)) }

func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

// ScoreRooms writes the enter probability of each room for viewer u into
// out (len(out) >= len(rooms)), or Unavailable for a room that is not live
// (the hard filter). cats[i] is room i's category (cats may be nil), cf[i]
// the normalised CF score of its anchor (see CFScores; cf may be nil). It
// does not allocate.
func (m *Model) ScoreRooms(u *User, rooms []features.RoomFeatures, cats []string, cf []float64, out []float64) {
	var x Features
	for i := range rooms {
		r := &rooms[i]
		if !Available(r) {
			out[i] = Unavailable
			continue
		}
		cat, c := "", -1.0
		if cats != nil {
			cat = cats[i]
		}
		if cf != nil {
			c = cf[i]
		}
		u.Room(&x, r, cat, c)
		out[i] = m.Predict(&x)
	}
}

// History is the viewer's CF history for model m from a recency list of
// features.UserFeatures (most recent first; Anchors for the anchors model,
// Products for the products model): at most maxLen known items, oldest
// first, weighted min(1, 0.2+strength/5). The CTR model was trained with
// CF scores from this history; serving must use the same. dst is reused.
func History(m *ranker.Model, recent []features.Engagement, maxLen int, dst ranker.History) ranker.History {
	dst = dst[:0]
	if m == nil {
		return dst
	}
	n := min(len(recent), maxLen)
	for k := n - 1; k >= 0; k-- {
		e := &recent[k]
		it, ok := m.Item(e.ID)
		if !ok {
			continue
		}
		dst = append(dst, ranker.Event{Item: it, Time: e.Last.Unix(), Weight: float32(min(1, 0.2+e.Strength/5))})
	}
	return dst
}

// CFScores writes the CF feature of each candidate item into out: m's
// score for history h, clamped at 0 and divided by the largest among the
// candidates, or −1 (unknown) for items the model does not know (item < 0)
// and for every item when h is empty. It does not allocate once m is warm.
func CFScores(m *ranker.Model, h ranker.History, items []ranker.ItemID, out []float64) {
	out = out[:len(items)]
	if m == nil || len(h) == 0 {
		for i := range out {
			out[i] = -1
		}
		return
	}
	m.ScoreInto(h, items, out)
	mx := 0.0
	for i, it := range items {
		if it >= 0 {
			mx = max(mx, out[i])
		}
	}
	for i, it := range items {
		switch {
		case it < 0:
			out[i] = -1
		case mx > 0:
			out[i] = max(out[i], 0) / mx
		default:
			out[i] = 0
		}
	}
}
