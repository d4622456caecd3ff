package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/tide-live/tide/live/fraudeval"
)

// evalFraud is `tide eval fraud`: the anti-fraud rules (features/fraud) on
// the seeded simulator with attackers and legitimate heavy users (see
// live/fraudeval). The thresholds were tuned on seed fraudeval.TuneSeed; the
// default seed is a different one.
func evalFraud(ctx context.Context, _ *slog.Logger, args []string) error {
	d := fraudeval.Defaults()
	fs := flag.NewFlagSet("tide eval fraud", flag.ContinueOnError)
	seed := fs.Int64("seed", d.Seed, fmt.Sprintf("simulation seed (thresholds were tuned on %d)", fraudeval.TuneSeed))
	users := fs.Int("users", d.Users, "the world's own simulated users")
	merchants := fs.Int("merchants", d.Merchants, "simulated merchants")
	dur := fs.Duration("duration", d.Duration, "simulated time")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o := d
	o.Seed, o.Users, o.Merchants, o.Duration = *seed, *users, *merchants, *dur
	if !*quiet {
		p := progressPrinter(os.Stderr)
		o.Progress = func(done, total time.Duration) { p("simulate (minutes)", int(done.Minutes()), int(total.Minutes())) }
	}
	r, err := fraudeval.Run(ctx, o)
	if err != nil {
		return err
	}
	printFraudReport(os.Stdout, r, o)
	return nil
}

func printFraudReport(w io.Writer, r *fraudeval.Report, o fraudeval.Options) {
	scripted := 0
	for _, ro := range r.Roles {
		scripted += ro.Total
	}
	fmt.Fprintf(w, "seed %d: %d events over %s simulated in %.1fs; %d attacker accounts among %d scripted accounts and %d of the world's own users\n",
		o.Seed, r.Events, o.Duration, r.Elapsed.Seconds(), r.Attackers, scripted, o.Users)
	fmt.Fprintf(w, "%-20s %8s %10s %6s %10s\n", "rule", "accounts", "attackers", "heavy", "precision")
	for _, ru := range r.Rules {
		p := 0.0
		if ru.Users > 0 {
			p = float64(ru.Attackers) / float64(ru.Users)
		}
		fmt.Fprintf(w, "%-20s %8d %10d %6d %10.4f\n", ru.Rule, ru.Users, ru.Attackers, ru.Heavy, p)
	}
	fmt.Fprintf(w, "%-20s %8s %8s %8s\n", "role", "accounts", "flagged", "share")
	for _, ro := range r.Roles {
		fmt.Fprintf(w, "%-20s %8d %8d %8.4f\n", ro.Role, ro.Total, ro.Flagged, float64(ro.Flagged)/float64(max(ro.Total, 1)))
	}
	fmt.Fprintf(w, "flagged: %d accounts (%d attackers, %d of the world's own users), %d devices, %d IPs, %d rooms (rooms that received attack traffic)\n",
		r.Flagged, r.TruePositives, r.NormalFlagged, r.Devices, r.IPs, r.Rooms)
	for _, f := range r.FlaggedExamples {
		fmt.Fprintf(w, "  legitimate %s flagged by %s: %s\n", f.ID, f.Rule, f.Reason)
	}
	fmt.Fprintf(w, "heavy_users_flagged=%d\n", r.HeavyFlagged)
	fmt.Fprintf(w, "precision=%.4f recall=%.4f\n", r.Precision, r.Recall)
}
