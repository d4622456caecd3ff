// Package fraudeval measures the anti-fraud rules (features/fraud) on the
// simulator with attackers (livesim.WithAttackers): which accounts each rule
// flags, against the ground truth of who is an attacker, and whether any
// legitimate heavy user (big spender, fan) is flagged. `tide eval fraud`
// prints its report.
package fraudeval

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/tide-live/tide/features/fraud"
	"github.com/tide-live/tide/live/livesim"
)

// Options configures a run. Zero fields take the defaults of Defaults.
type Options struct {
	Seed       int64
	Users      int
	Merchants  int
	Duration   time.Duration // simulated time
	Attackers  livesim.Attackers
	Thresholds *fraud.Thresholds // nil: fraud.DefaultThresholds()
	// Progress, if set, is called about every million events with the
	// simulated time done and the total.
	Progress func(done, total time.Duration)
}

// TuneSeed is the seed the default thresholds were tuned on; ReportSeed is
// the seed figures are reported on (and the default).
const (
	TuneSeed   = 1
	ReportSeed = 2
)

// Defaults returns the options of `tide eval fraud`.
func Defaults() Options {
	return Options{Seed: ReportSeed, Users: 3000, Merchants: 100, Duration: 24 * time.Hour,
		Attackers: livesim.DefaultAttackers()}
}

// start is the simulated start: midnight in Asia/Shanghai.
var start = time.Date(2026, 11, 30, 16, 0, 0, 0, time.UTC)

// RuleResult is what one rule flagged among accounts.
type RuleResult struct {
	Rule      fraud.Rule
	Users     int // accounts flagged by the rule
	Attackers int // of which attackers
	Heavy     int // of which legitimate heavy users
}

// RoleResult is how many accounts of a role were flagged.
type RoleResult struct {
	Role    livesim.Role
	Total   int
	Flagged int
}

// Report is the outcome of a run.
type Report struct {
	Events          uint64
	Elapsed         time.Duration
	Rules           []RuleResult
	Roles           []RoleResult
	Flagged         int // accounts flagged by any rule
	TruePositives   int // attackers flagged
	Attackers       int // attackers in the world
	HeavyFlagged    int // legitimate heavy users flagged (must be 0)
	NormalFlagged   int // the world's own users flagged
	Devices, IPs    int // devices and IPs flagged
	Rooms           int // rooms flagged
	Precision       float64
	Recall          float64
	FlaggedExamples []fraud.Flag // the first flag of a few legitimate accounts, to see why
}

// Run simulates and evaluates.
func Run(ctx context.Context, o Options) (*Report, error) {
	d := Defaults()
	if o.Seed == 0 {
		o.Seed = d.Seed
	}
	if o.Users <= 0 {
		o.Users = d.Users
	}
	if o.Merchants <= 0 {
		o.Merchants = d.Merchants
	}
	if o.Duration <= 0 {
		o.Duration = d.Duration
	}
	th := fraud.DefaultThresholds()
	if o.Thresholds != nil {
		th = *o.Thresholds
	}
	began := time.Now()
	sim := livesim.New(livesim.WithSeed(o.Seed), livesim.WithUsers(o.Users), livesim.WithMerchants(o.Merchants),
		livesim.WithStart(start), livesim.WithAttackers(o.Attackers))
	var flags []fraud.Flag
	eng := fraud.New(fraud.WithThresholds(th), fraud.WithSink(func(f fraud.Flag) { flags = append(flags, f) }))
	end := start.Add(o.Duration).UnixMilli()
	var n uint64
	for {
		e := sim.Next()
		if e.Ts >= end {
			break
		}
		eng.Observe(e)
		n++
		if n%(1<<20) == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if o.Progress != nil {
				o.Progress(time.Duration(e.Ts-start.UnixMilli())*time.Millisecond, o.Duration)
			}
		}
	}
	r := score(sim, flags)
	r.Events, r.Elapsed = n, time.Since(began)
	return r, nil
}

// score compares the flags with the ground truth.
func score(sim *livesim.Sim, flags []fraud.Flag) *Report {
	r := &Report{}
	actors := sim.Actors()
	roles := map[livesim.Role]*RoleResult{}
	for _, role := range actors {
		rr := roles[role]
		if rr == nil {
			rr = &RoleResult{Role: role}
			roles[role] = rr
		}
		rr.Total++
		if role.Attacker() {
			r.Attackers++
		}
	}
	byRule := map[fraud.Rule]*RuleResult{}
	for _, ru := range fraud.Rules {
		byRule[ru] = &RuleResult{Rule: ru}
	}
	users := map[string]bool{}
	for _, f := range flags {
		switch f.Kind {
		case fraud.KindDevice:
			r.Devices++
			continue
		case fraud.KindIP:
			r.IPs++
			continue
		case fraud.KindRoom:
			r.Rooms++
			continue
		}
		role := sim.Role(f.ID)
		rr := byRule[f.Rule]
		rr.Users++
		if role.Attacker() {
			rr.Attackers++
		}
		if role.Heavy() {
			rr.Heavy++
		}
		if users[f.ID] {
			continue
		}
		users[f.ID] = true
		r.Flagged++
		switch {
		case role.Attacker():
			r.TruePositives++
		case role.Heavy():
			r.HeavyFlagged++
		default:
			r.NormalFlagged++
		}
		if !role.Attacker() && len(r.FlaggedExamples) < 5 {
			r.FlaggedExamples = append(r.FlaggedExamples, f)
		}
		if rr := roles[role]; rr != nil {
			rr.Flagged++
		}
	}
	for _, ru := range fraud.Rules {
		r.Rules = append(r.Rules, *byRule[ru])
	}
	for _, rr := range roles {
		r.Roles = append(r.Roles, *rr)
	}
	slices.SortFunc(r.Roles, func(a, b RoleResult) int { return int(a.Role) - int(b.Role) })
	if r.Flagged > 0 {
		r.Precision = float64(r.TruePositives) / float64(r.Flagged)
	}
	if r.Attackers > 0 {
		r.Recall = float64(r.TruePositives) / float64(r.Attackers)
	}
	return r
}

// String is a short summary.
func (r *Report) String() string {
	return fmt.Sprintf("precision=%.4f recall=%.4f", r.Precision, r.Recall)
}
