package ranker

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/tide-live/tide/ranker/mf"
	"github.com/tide-live/tide/ranker/neighbors"
	"github.com/tide-live/tide/ranker/rerank"
)

// ErrTooLittleData is returned when there is not enough data to train or
// evaluate.
var ErrTooLittleData = errors.New("too little data")

// Model is the trained, versioned recommendation model: item-to-item
// neighbours (co-occurrence and sequential transitions), optional matrix
// factorisation and popularity, blended into one score. A Model is immutable
// once built and safe for concurrent use; serving swaps whole models through
// a Store. Use it by pointer only.
type Model struct {
	// Version labels the artifact (free text, e.g. a training date).
	Version string
	// TrainedAt is when Train finished.
	TrainedAt time.Time
	// Config is what the model was trained with; Config.Blend is live.
	Config Config
	// ItemNames maps dense ItemIDs to external item ids.
	ItemNames []string
	// Pop is log(1+count)/log(1+max count) per item, in [0,1].
	Pop []float32
	// NN holds the neighbour relations.
	NN *neighbors.Model
	// MF is the matrix factorisation, nil when disabled.
	MF *mf.Model
	// Trend is time-aware popularity, nil when disabled.
	Trend *Trend
	// Rerank is the learned second stage over the blend's candidates, nil
	// when disabled (Config.Rerank.Candidates == 0).
	Rerank *rerank.Model

	items     *IDMap
	scratch   *sync.Pool
	partsPool *sync.Pool
}

// Progress reports training progress: stage names a phase ("neighbors",
// "mf"), done and total count its steps.
type Progress func(stage string, done, total int)

// TrainOption configures Train.
type TrainOption func(*trainOptions)

type trainOptions struct {
	progress Progress
	version  string
}

// WithProgress makes Train report progress to p.
func WithProgress(p Progress) TrainOption { return func(o *trainOptions) { o.progress = p } }

// WithVersion sets the artifact's Version label.
func WithVersion(v string) TrainOption { return func(o *trainOptions) { o.version = v } }

// Train builds a Model from an interaction log. With a re-ranker
// (cfg.Rerank.Candidates > 0) it first trains the stage-one parts without
// each user's last interaction, fits the re-ranker on predicting those,
// then trains the stage-one parts on the whole log.
func Train(ctx context.Context, x *Interactions, cfg Config, opts ...TrainOption) (*Model, error) {
	var o trainOptions
	for _, f := range opts {
		f(&o)
	}
	if err := x.Validate(); err != nil {
		return nil, err
	}
	if x.Len() == 0 || x.NumItems() == 0 {
		return nil, fmt.Errorf("ranker: no interactions to train on: %w", ErrTooLittleData)
	}
	var rr *rerank.Model
	if cfg.Rerank.Candidates > 0 {
		var err error
		if rr, err = trainRerank(ctx, x, cfg, o.progress); err != nil {
			return nil, err
		}
	}
	m, err := trainStageOne(ctx, x, cfg, o)
	if err != nil {
		return nil, err
	}
	m.Rerank = rr
	return m, nil
}

// trainStageOne trains the blended parts (neighbours, MF, trend,
// popularity).
func trainStageOne(ctx context.Context, x *Interactions, cfg Config, o trainOptions) (*Model, error) {
	report := func(stage string) func(int, int) {
		if o.progress == nil {
			return nil
		}
		return func(d, t int) { o.progress(stage, d, t) }
	}
	hs := x.Histories()
	n := x.NumItems()
	seqs := make([]neighbors.Sequence, 0, len(hs))
	rows := mf.Rows{Off: make([]int32, 1, len(hs)+1)}
	for _, h := range hs {
		if len(h) == 0 {
			continue
		}
		s := neighbors.Sequence{Items: make([]int32, len(h)), Times: make([]int64, len(h)), Weights: make([]float32, len(h))}
		for i, e := range h {
			s.Items[i], s.Times[i], s.Weights[i] = int32(e.Item), e.Time, e.Weight
			rows.Cols = append(rows.Cols, int32(e.Item))
			rows.Vals = append(rows.Vals, e.Weight)
		}
		rows.Off = append(rows.Off, int32(len(rows.Cols)))
		seqs = append(seqs, s)
	}
	nn, err := neighbors.Train(ctx, seqs, n, cfg.Neighbors, report("neighbors"))
	if err != nil {
		return nil, fmt.Errorf("ranker: %w", err)
	}
	m := &Model{Version: o.version, Config: cfg, ItemNames: slices.Clone(x.Items.Names()), NN: nn, Pop: popularity(nn.Count)}
	if cfg.MF.Factors > 0 {
		m.MF, err = mf.Train(ctx, rows, n, cfg.MF, report("mf"))
		if err != nil {
			return nil, fmt.Errorf("ranker: %w", err)
		}
	}
	if cfg.TrendWindowDays > 0 {
		m.Trend = newTrend(x, int64(cfg.TrendWindowDays)*86400)
	}
	m.TrainedAt = time.Now().UTC()
	m.init()
	return m, nil
}

func popularity(count []float32) []float32 {
	var mx float32
	for _, c := range count {
		mx = max(mx, c)
	}
	p := make([]float32, len(count))
	den := math.Log1p(float64(mx))
	if den == 0 {
		return p
	}
	for i, c := range count {
		p[i] = float32(math.Log1p(float64(c)) / den)
	}
	return p
}

// init builds the derived, unexported state after Train or Load.
func (m *Model) init() {
	m.items = newIDMapFrom(m.ItemNames)
	m.scratch = &sync.Pool{}
	m.partsPool = &sync.Pool{}
	if m.Trend != nil {
		m.Trend.index(m.NumItems())
	}
}

// WithBlend returns a stage-one model (no re-ranker) that shares m's
// trained parts but blends them with b. Use it to tune blend weights or
// derive baselines cheaply.
func (m *Model) WithBlend(b Blend) *Model {
	c := *m
	c.Config.Blend = b
	c.Rerank = nil
	return &c
}

// WithRerank returns a model that shares m's trained parts and re-ranks
// with r (nil: stage one only).
func (m *Model) WithRerank(r *rerank.Model) *Model {
	c := *m
	c.Rerank = r
	return &c
}

// NumItems is the number of items the model knows.
func (m *Model) NumItems() int { return len(m.ItemNames) }

// Item returns the dense id of an external item id.
func (m *Model) Item(name string) (ItemID, bool) {
	i, ok := m.items.Lookup(name)
	return ItemID(i), ok
}

// ItemName returns the external id of a dense item id.
func (m *Model) ItemName(i ItemID) string { return m.ItemNames[i] }
