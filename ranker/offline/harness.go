package offline

import (
	"context"
	"fmt"
	"time"

	"github.com/tide-live/tide/ranker"
)

// Options configure Run.
type Options struct {
	// Config trains the model under evaluation (ranker.DefaultConfig() if
	// zero).
	Config *ranker.Config
	// Tune searches the blend weights on the validation targets before the
	// test figures are computed.
	Tune bool
	K    int // cut-off; 10 if 0
	// Negatives for the sampled variant (99 if 0; <0 skips it).
	Negatives int
	// Seed for negative sampling.
	Seed uint64
	// Components also evaluates each part of the model on its own.
	Components bool
	// RetrainForTest retrains the model (with the same config and tuned
	// blend) on the training plus validation rows for the test targets;
	// validation figures always come from the model trained without them.
	// The popularity and item-kNN baselines stay on training rows.
	RetrainForTest bool
	// Progress, if set, receives stage progress (stage, done, total).
	Progress ranker.Progress
}

// Result is one model's figures.
type Result struct {
	Name       string
	Validation Metrics // full ranking, validation targets
	Test       Metrics // full ranking, test targets
	Sampled    Metrics // test targets against sampled negatives
	// Sampled5 is Sampled at cut-off 5, the published tables' metric.
	Sampled5 Metrics
}

// Report is what Run measured.
type Report struct {
	Users, Items, TrainRows int
	// TrainTime is the wall time of training the evaluated model.
	TrainTime time.Duration
	// RetrainTime is the wall time of retraining it with the validation
	// rows for the test targets (0 without Options.RetrainForTest).
	RetrainTime time.Duration
	// TuneTime is the wall time of blend tuning (0 without Options.Tune).
	TuneTime time.Duration
	// Blend is the blend the model was tested with.
	Blend ranker.Blend
	// Reranked says the model has a learned re-ranker over the blend.
	Reranked bool
	// TunedValidation is the pooled validation figure the tuner reached.
	TunedValidation Metrics
	// Model, Popularity and ItemKNN are the evaluated scorers.
	Model, Popularity, ItemKNN Result
	// Components are the model's parts scored alone (seq, co, mf).
	Components []Result
}

// Run splits x leave-last-out, trains the model and the baselines on the
// training rows, optionally tunes the blend on validation, and evaluates
// everything on validation and test.
func Run(ctx context.Context, x *ranker.Interactions, o Options) (*Report, error) {
	cfg := ranker.DefaultConfig()
	if o.Config != nil {
		cfg = *o.Config
	}
	if o.K == 0 {
		o.K = 10
	}
	if o.Negatives == 0 {
		o.Negatives = 99
	}
	progress := func(stage string) func(int, int) {
		if o.Progress == nil {
			return nil
		}
		return func(d, t int) { o.Progress(stage, d, t) }
	}
	sp, err := LeaveLastOut(x)
	if err != nil {
		return nil, err
	}
	rep := &Report{Users: len(sp.Test), Items: x.NumItems(), TrainRows: sp.Train.Len()}

	start := time.Now()
	model, err := ranker.Train(ctx, sp.Train, cfg, ranker.WithProgress(o.Progress))
	if err != nil {
		return nil, err
	}
	rep.TrainTime = time.Since(start)

	if o.Tune {
		start = time.Now()
		b, m, err := TuneBlend(ctx, model, sp.Validation, TuneOptions{K: o.K, Progress: progress("tune")})
		if err != nil {
			return nil, err
		}
		model = model.WithBlend(b).WithRerank(model.Rerank)
		rep.TunedValidation = m
		rep.TuneTime = time.Since(start)
	}
	rep.Blend = model.Config.Blend
	rep.Reranked = model.Rerank != nil
	testModel := model
	if o.RetrainForTest {
		start = time.Now()
		retrained, err := ranker.Train(ctx, sp.TrainValidation, cfg, ranker.WithProgress(o.Progress))
		if err != nil {
			return nil, err
		}
		testModel = retrained.WithBlend(model.Config.Blend).WithRerank(retrained.Rerank)
		rep.RetrainTime = time.Since(start)
	}

	// Baselines on the same split: popularity is the model's popularity
	// table alone (training counts); item-kNN is cosine co-occurrence over
	// whole histories, every history item weighted equally.
	pop := model.WithBlend(ranker.Blend{Pop: 1})
	knn, err := ranker.Train(ctx, sp.Train, ItemKNNConfig())
	if err != nil {
		return nil, err
	}

	// eval scores the validation targets with s and the test targets with
	// ts.
	eval := func(name string, s, ts Scorer, sampled bool) (Result, error) {
		r := Result{Name: name}
		var err error
		if r.Validation, err = Evaluate(ctx, s, sp.Validation, EvalOptions{K: o.K, Progress: progress(name + " validation")}); err != nil {
			return r, err
		}
		if r.Test, err = Evaluate(ctx, ts, sp.Test, EvalOptions{K: o.K, Progress: progress(name + " test")}); err != nil {
			return r, err
		}
		if sampled && o.Negatives > 0 {
			ranks, err := Ranks(ctx, ts, sp.Test, EvalOptions{Negatives: o.Negatives, Seed: o.Seed})
			if err != nil {
				return r, err
			}
			r.Sampled, r.Sampled5 = At(ranks, o.K), At(ranks, 5)
		}
		return r, nil
	}
	if rep.Popularity, err = eval("popularity", pop, pop, true); err != nil {
		return nil, err
	}
	if rep.ItemKNN, err = eval("item-knn", knn, knn, true); err != nil {
		return nil, err
	}
	if rep.Model, err = eval("model", model, testModel, true); err != nil {
		return nil, err
	}
	if !o.Components {
		return rep, nil
	}
	type part struct {
		name string
		b    ranker.Blend
	}
	b := rep.Blend
	var parts []part
	if model.Rerank != nil {
		parts = append(parts, part{"blend", b})
	}
	parts = append(parts, []part{{"seq", ranker.Blend{Seq: 1, Pop: b.Pop / max(b.Seq, 1e-9)}}, {"co", ranker.Blend{Co: 1, Pop: 1e-3}}}...)
	if model.MF != nil {
		parts = append(parts, part{"mf", ranker.Blend{MF: 1}})
	}
	if model.Trend != nil {
		parts = append(parts, part{"trend", ranker.Blend{Trend: 1, Pop: 1e-3}})
	}
	for _, p := range parts {
		r, err := eval(p.name, model.WithBlend(p.b), testModel.WithBlend(p.b), false)
		if err != nil {
			return nil, err
		}
		rep.Components = append(rep.Components, r)
	}
	return rep, nil
}

// ItemKNNConfig is the classic item-kNN baseline: cosine co-occurrence over
// whole histories, no sequence, no recency, no factorisation, popularity
// only as a tie-breaker.
func ItemKNNConfig() ranker.Config {
	cfg := ranker.DefaultConfig()
	cfg.MF.Factors = 0
	cfg.Neighbors.CoWindow = 0
	cfg.Neighbors.CoAlpha = 0.5
	cfg.Neighbors.MaxNeighbors = 1000
	cfg.Neighbors.MaxGap = 0
	cfg.History = ranker.HistoryConfig{Decay: 1}
	cfg.Blend = ranker.Blend{Co: 1, Pop: 1e-6}
	cfg.Rerank = ranker.RerankConfig{}
	return cfg
}

// String is a one-line summary.
func (r Result) String() string {
	return fmt.Sprintf("%-12s validation %v   test %v   sampled-99 %v", r.Name, r.Validation, r.Test, r.Sampled)
}
