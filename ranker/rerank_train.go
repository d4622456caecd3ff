package ranker

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/tide-live/tide/ranker/rerank"
)

// trainRerank fits the re-ranker on pseudo-targets: every user's last
// Rerank.Targets interactions are held out (leaving at least one), the
// stage-one parts are trained on the rest, and the re-ranker learns to find
// each held-out item, from the history before it, among the blend's top
// Rerank.Candidates. At most Rerank.MaxCases lists are kept (a bound of
// MaxCases × Candidates × NumFeatures floats). With fewer than MinCases
// lists it returns no re-ranker.
func trainRerank(ctx context.Context, x *Interactions, cfg Config, progress Progress) (*rerank.Model, error) {
	rc := cfg.Rerank
	if rc.MaxCases == 0 {
		rc.MaxCases = 50000
	}
	if rc.MinCases == 0 {
		rc.MinCases = 1000
	}
	hs := x.Histories()
	rest := &Interactions{Users: x.Users, Items: x.Items}
	type pseudo struct {
		hist   History
		target ItemID
	}
	var cases []pseudo
	targets := max(rc.Targets, 1)
	for u, h := range hs {
		n := len(h)
		end := n
		if n >= 2 {
			end = n - min(targets, n-1)
			for i := end; i < n; i++ {
				cases = append(cases, pseudo{h[:i:i], h[i].Item})
			}
		}
		for _, e := range h[:end] {
			rest.AddIndexed(UserID(u), e.Item, e.Time, e.Weight)
		}
	}
	if len(cases) > rc.MaxCases {
		kept := cases[:0]
		stride := float64(len(cases)) / float64(rc.MaxCases)
		for i := range rc.MaxCases {
			kept = append(kept, cases[int(float64(i)*stride)])
		}
		cases = kept
	}
	stage := cfg
	stage.Rerank = RerankConfig{}
	var so trainOptions
	if progress != nil {
		so.progress = func(s string, d, t int) { progress("rerank "+s, d, t) }
	}
	a, err := trainStageOne(ctx, rest, stage, so)
	if err != nil {
		return nil, fmt.Errorf("ranker: re-ranker stage one: %w", err)
	}
	lists := make([]rerank.Case, len(cases))
	var next, done atomic.Int64
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ninf := float32(math.Inf(-1))
			for {
				i := int(next.Add(1) - 1)
				if i >= len(cases) || ctx.Err() != nil {
					return
				}
				c := cases[i]
				p := a.getParts()
				a.prepareParts(c.hist, p)
				n := a.NumItems()
				if len(p.blend) < n {
					p.blend = make([]float32, n)
				}
				for it := range n {
					p.blend[it] = a.stageOneNoTrend(p, ItemID(it))
				}
				for _, e := range c.hist {
					p.blend[e.Item] = ninf
				}
				top := TopK(p.blend[:n], rc.Candidates)
				at := -1
				for j, s := range top {
					if s.Item == c.target {
						at = j
					}
				}
				if at >= 0 {
					f := make([]float32, len(top)*NumFeatures)
					for j, s := range top {
						a.candidateFeatures(p, s.Item, f[j*NumFeatures:(j+1)*NumFeatures])
					}
					lists[i] = rerank.Case{Features: f, Target: at}
				}
				a.releaseParts(p)
				if d := done.Add(1); progress != nil && (d%1024 == 0 || int(d) == len(cases)) {
					progress("rerank lists", int(d), len(cases))
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("ranker: re-ranker lists cancelled: %w", err)
	}
	found := 0
	for _, l := range lists {
		if l.Features != nil {
			found++
		}
	}
	if found < rc.MinCases {
		return nil, nil // too little to learn from: the blend alone
	}
	var fitProgress func(int, int)
	if progress != nil {
		fitProgress = func(d, t int) { progress("rerank fit (epochs)", d, t) }
	}
	r, err := rerank.Fit(ctx, lists, NumFeatures, rc.Fit, fitProgress)
	if err != nil {
		return nil, fmt.Errorf("ranker: %w", err)
	}
	return r, nil
}
