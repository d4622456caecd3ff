package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/tide-live/tide/ranker/live"
)

// evalLive is `tide eval live`: availability-aware evaluation of room
// ranking on simulated live traffic (see ranker/live).
func evalLive(ctx context.Context, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("tide eval live", flag.ContinueOnError)
	seed := fs.Int64("seed", 1, "simulation seed")
	users := fs.Int("users", 5000, "simulated users")
	merchants := fs.Int("merchants", 200, "simulated merchants (one to three rooms each)")
	days := fs.Int("days", 4, "simulated days: history, CTR training day, evaluation day (at least 3)")
	k := fs.Int("k", 10, "cut-off K of HR@K and NDCG@K")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o := live.Options{Seed: *seed, Users: *users, Merchants: *merchants, Days: *days, K: *k}
	if !*quiet {
		o.Progress = progressPrinter(os.Stderr)
	}
	rep, err := live.Run(ctx, o)
	if err != nil {
		return err
	}
	printLiveReport(os.Stdout, rep, *k)
	return nil
}

func printLiveReport(w io.Writer, r *live.Report, k int) {
	fmt.Fprintf(w, "simulated %d events in %.1fs; %d enters evaluated on the last day (%d not rankable), %.1f live rooms per request\n",
		r.Events, r.Elapsed.Seconds(), r.Enters, r.Unranked, r.MeanLive)
	m := r.CTR.Metrics
	fmt.Fprintf(w, "CTR model: %d impressions (%.1f%% entered) of the previous day; AUC held-out (last 20%% of that day) %.4f, on the evaluation day %.4f\n",
		r.CTRSamples, 100*m.BaseRate, m.TestAUC, r.CTRAUC)
	fmt.Fprintf(w, "blend: ctr logit + %.2g·log(popularity), weight tuned on the previous day\n", r.Beta)
	fmt.Fprintf(w, "%-16s %-22s %-22s %s\n", "", "all", "new anchor", "repeat anchor")
	fmt.Fprintf(w, "%-16s %-10s %-11s %-10s %-11s %-10s %s\n", "scorer",
		fmt.Sprintf("HR@%d", k), fmt.Sprintf("NDCG@%d", k), fmt.Sprintf("HR@%d", k), fmt.Sprintf("NDCG@%d", k), fmt.Sprintf("HR@%d", k), fmt.Sprintf("NDCG@%d", k))
	for _, res := range []live.Result{r.Pop, r.Heat, r.CF, r.CTROnly, r.Blend} {
		fmt.Fprintf(w, "%-16s %-10.4f %-11.4f %-10.4f %-11.4f %-10.4f %.4f\n", res.Name,
			res.All.HR, res.All.NDCG, res.New.HR, res.New.NDCG, res.Repeat.HR, res.Repeat.NDCG)
	}
	fmt.Fprintf(w, "targets: %d new, %d repeat\n", r.Blend.New.Users, r.Blend.Repeat.Users)
	fmt.Fprintln(w, "CTR weights (standardised):")
	for i, n := range r.CTR.Names {
		fmt.Fprintf(w, "  %-16s %+.3f\n", n, r.CTR.Weights[i])
	}
	fmt.Fprintf(w, "live_hr%d=%.4f live_ndcg%d=%.4f new_hr%d=%.4f repeat_hr%d=%.4f ctr_auc=%.4f pop_live_hr%d=%.4f\n",
		k, r.Blend.All.HR, k, r.Blend.All.NDCG, k, r.Blend.New.HR, k, r.Blend.Repeat.HR, r.CTRAUC, k, r.Pop.All.HR)
}
