package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/tide-live/tide/ranker/live"
	"github.com/tide-live/tide/serving/feedeval"
)

// evalLive is `tide eval live`: the served room feed (feed.Service with the
// trained models) replayed over a simulated day (see serving/feedeval); with
// --offline, the scorers alone outside the feed (see ranker/live).
func evalLive(ctx context.Context, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("tide eval live", flag.ContinueOnError)
	seed := fs.Int64("seed", 1, "simulation seed")
	users := fs.Int("users", 5000, "simulated users")
	merchants := fs.Int("merchants", 200, "simulated merchants (one to three rooms each)")
	days := fs.Int("days", 4, "simulated days: history, CTR training day, evaluation day (at least 3)")
	k := fs.Int("k", 10, "cut-off K of HR@K and NDCG@K")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	offline := fs.Bool("offline", false, "evaluate the scorers outside the feed (the CF+CTR blend over every live room) instead of the served path")
	explore := fs.Float64("explore", 0.1, "share of simulated feed pages shown as an exploration slice (live rooms at random)")
	userTTL := fs.Duration("user-ttl", 6*time.Hour, "how long the served features store keeps an idle viewer (tide serve's default)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !*offline {
		o := feedeval.Options{Seed: *seed, Users: *users, Merchants: *merchants, Days: *days, K: *k,
			ExploreShare: *explore, UserTTL: *userTTL}
		if !*quiet {
			o.Progress = progressPrinter(os.Stderr)
		}
		rep, err := feedeval.Run(ctx, o)
		if err != nil {
			return err
		}
		printFeedReport(os.Stdout, rep, *k)
		return nil
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

func printFeedReport(w io.Writer, r *feedeval.Report, k int) {
	fmt.Fprintf(w, "simulated %d events in %.1fs; %d enters from %d feed pages evaluated on the last day (%d not rankable)\n",
		r.Events, r.Elapsed.Seconds(), r.Enters, r.Requests, r.Unranked)
	fmt.Fprintf(w, "candidates: %.1f live rooms in the served feed per request (%.1f live)\n", r.Candidates, r.MeanLive)
	fmt.Fprintf(w, "CTR model: %d impressions of the previous day; AUC on the evaluation day %.4f\n", r.CTRSamples, r.CTRAUC)
	hr, nd := fmt.Sprintf("HR@%d", k), fmt.Sprintf("NDCG@%d", k)
	fmt.Fprintf(w, "%-20s %-17s %-17s %-17s %-17s %s\n", "", "all", "new anchor", "repeat anchor", "organic exposure", "explore slice")
	fmt.Fprintf(w, "%-20s", "scorer")
	for range 5 {
		fmt.Fprintf(w, " %-7s %-9s", hr, nd)
	}
	fmt.Fprintln(w)
	for _, res := range []feedeval.Result{r.Served, r.NoMemory, r.Previous, r.PopFeed, r.Pop, r.Random} {
		fmt.Fprintf(w, "%-20s", res.Name)
		for _, g := range []feedeval.Group{res.All, res.New, res.Repeat, res.Organic, res.Explore} {
			fmt.Fprintf(w, " %-7.4f %-9.4f", g.HR, g.NDCG)
		}
		fmt.Fprintf(w, " not shown %d\n", res.Hidden)
	}
	fmt.Fprintf(w, "targets: %d new, %d repeat, %d organic, %d explore\n", r.Served.New.Users, r.Served.Repeat.Users,
		r.Served.Organic.Users, r.Served.Explore.Users)
	fmt.Fprintf(w, "served_hr%d=%.4f served_ndcg%d=%.4f random_hr%d=%.4f pop_hr%d=%.4f explore_hr%d=%.4f explore_pop_hr%d=%.4f candidates=%.2f\n",
		k, r.Served.All.HR, k, r.Served.All.NDCG, k, r.Random.All.HR, k, r.Pop.All.HR, k, r.Served.Explore.HR, k, r.Pop.Explore.HR, r.Candidates)
}
