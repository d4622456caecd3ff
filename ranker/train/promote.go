package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tide-live/tide/features"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/ranker/ctr"
)

// DecisionFile is the file of a version directory that records whether the
// version was promoted, and the holdout scores that decided it.
const DecisionFile = "promotion.json"

// HoldoutScore is one version's quality on the held-out stream: the AUC of
// its CTR models (with its own CF models building the CF features) on the
// impressions of the holdout, as serving would have scored them.
type HoldoutScore struct {
	Version         string  `json:"version"`
	RoomAUC         float64 `json:"room_auc"`    // 0.5 (chance) without a room model
	ProductAUC      float64 `json:"product_auc"` // 0.5 without a product model
	RoomSamples     int     `json:"room_samples"`
	ProductSamples  int     `json:"product_samples"`
	RoomPositives   int     `json:"room_positives"`
	ProductPositive int     `json:"product_positives"`
	// Score is what promotion compares: the AUCs weighted by their
	// samples.
	Score float64 `json:"score"`
	// SawHoldout is set when the version's training range reaches into the
	// holdout (its score is then optimistic, which only makes the gate
	// harder to pass for a new version).
	SawHoldout bool `json:"saw_holdout,omitempty"`
}

// Decision is the outcome of Promote.
type Decision struct {
	Candidate HoldoutScore  `json:"candidate"`
	Serving   *HoldoutScore `json:"serving,omitempty"` // nil when nothing was current
	From      time.Time     `json:"holdout_from"`
	To        time.Time     `json:"holdout_to"`
	Promoted  bool          `json:"promoted"`
	Reason    string        `json:"reason"`
	Events    int64         `json:"events_replayed"`
}

// Promote scores the version in dir and the current version of o.Out on
// the held-out events received in [from, to) (replaying o.HoldoutWarmUp of
// stream before it to fill the online features) and makes dir current
// only when its score beats the current one's by more than o.MinGain; with
// no current version it is promoted outright. The decision is written to
// dir/promotion.json and returned.
func Promote(ctx context.Context, conn driver.Conn, o Options, dir string, from, to time.Time) (*Decision, error) {
	o.defaults()
	cand, err := LoadDir(dir)
	if err != nil {
		return nil, err
	}
	d := &Decision{From: from.UTC(), To: to.UTC()}
	bundles := []*Bundle{cand}
	cur, err := LoadCurrent(o.Out)
	switch {
	case errors.Is(err, ErrNoCurrent):
		cur = nil
	case err != nil:
		return nil, err
	case filepath.Clean(cur.Dir) == filepath.Clean(dir):
		return nil, fmt.Errorf("train: %s is already current", cand.Manifest.Version)
	default:
		bundles = append(bundles, cur)
	}
	scores, n, err := evaluateHoldout(ctx, conn, &o, from, to, bundles)
	if err != nil {
		return nil, err
	}
	d.Events, d.Candidate = n, scores[0]
	switch {
	case cur == nil:
		d.Promoted, d.Reason = true, "no serving version"
	case scores[0].RoomSamples+scores[0].ProductSamples == 0:
		d.Serving = &scores[1]
		d.Reason = "no impressions in the holdout: keeping the serving version"
	default:
		d.Serving = &scores[1]
		gain := scores[0].Score - scores[1].Score
		d.Promoted = gain > o.MinGain
		d.Reason = fmt.Sprintf("holdout score %.4f vs serving %.4f (gain %+.4f, need > %+.4f)",
			scores[0].Score, scores[1].Score, gain, o.MinGain)
	}
	raw, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, DecisionFile), append(raw, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if d.Promoted {
		if err := Publish(o.Out, cand.Manifest.Version); err != nil {
			return nil, err
		}
	}
	o.Log.Info("train: promotion", "version", cand.Manifest.Version, "promoted", d.Promoted, "reason", d.Reason)
	return d, nil
}

// evaluateHoldout replays [from−HoldoutWarmUp, to) once through one
// sampler per bundle (each with its own features store and CF models) and
// scores each bundle's CTR models on the impressions at or after from.
func evaluateHoldout(ctx context.Context, conn driver.Conn, o *Options, from, to time.Time, bundles []*Bundle) ([]HoldoutScore, int64, error) {
	keep, err := o.keepFraction(ctx, conn, from, to)
	if err != nil {
		return nil, 0, err
	}
	cfg := DefaultSamplerConfig()
	cfg.Keep = keep
	smps := make([]*Sampler, len(bundles))
	for i, b := range bundles {
		store := features.NewStore(features.WithUserTTL(o.HoldoutWarmUp+to.Sub(from)+time.Hour),
			features.WithTTL(65*time.Minute, 48*time.Hour), features.WithLogger(o.Log))
		smps[i] = NewSampler(store, b.Anchors, b.Products, from, cfg)
	}
	replayFrom := from.Add(-o.HoldoutWarmUp)
	total := int(to.Sub(replayFrom) / time.Minute)
	last := time.Now()
	n, err := replayEvents(ctx, conn, o.Database, o.Table, o.Exclude, replayFrom, to, func(e *tidev1.Event) {
		for _, s := range smps {
			s.Apply(e)
		}
		if time.Since(last) >= time.Second {
			last = time.Now()
			o.Progress("holdout replay (minutes of stream)", int(time.UnixMilli(e.GetReceivedAt()).Sub(replayFrom)/time.Minute), total)
		}
	})
	if err != nil {
		return nil, n, err
	}
	o.Progress("holdout replay (minutes of stream)", total, total)
	out := make([]HoldoutScore, len(bundles))
	for i, b := range bundles {
		out[i] = holdoutScore(b, smps[i])
		out[i].SawHoldout = b.Manifest.To.After(from)
	}
	return out, n, nil
}

// holdoutScore scores b's CTR models on the samples of s.
func holdoutScore(b *Bundle, s *Sampler) HoldoutScore {
	h := HoldoutScore{Version: b.Manifest.Version, RoomAUC: 0.5, ProductAUC: 0.5,
		RoomSamples: s.Rooms.Len(), ProductSamples: s.Products.Len(),
		RoomPositives: s.Rooms.Positives(), ProductPositive: s.Products.Positives()}
	if m := b.CTR.Model(ctr.Rooms); m != nil && h.RoomSamples > 0 {
		h.RoomAUC, _ = m.Evaluate(s.Rooms)
	}
	if m := b.CTR.Model(ctr.Products); m != nil && h.ProductSamples > 0 {
		h.ProductAUC, _ = m.Evaluate(s.Products)
	}
	if n := h.RoomSamples + h.ProductSamples; n > 0 {
		h.Score = (h.RoomAUC*float64(h.RoomSamples) + h.ProductAUC*float64(h.ProductSamples)) / float64(n)
	}
	return h
}
