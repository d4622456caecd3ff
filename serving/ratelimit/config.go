package ratelimit

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/time/rate"
)

// ParseRules reads rules written as
//
//	PROCEDURE=DIM:N/UNIT[:BURST][,DIM:…];PROCEDURE=…
//
// where PROCEDURE is a full procedure ("/tide.v1.FeedService/Rooms") or
// "default", DIM is "principal" or "ip", N/UNIT a rate such as 20/s, 600/m
// or 5000/h, and BURST defaults to N (at least 1). "DIM:off" lifts that
// limit. A dimension a rule does not name is unlimited for that procedure.
// Options ready for New are returned.
func ParseRules(s string) ([]Option, error) {
	var opts []Option
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		proc, spec, ok := strings.Cut(part, "=")
		proc = strings.TrimSpace(proc)
		if !ok || (proc != "default" && !strings.HasPrefix(proc, "/")) {
			return nil, fmt.Errorf("rate limit %q: want /package.Service/Method=… or default=…", part)
		}
		var r Rule
		for _, lim := range strings.Split(spec, ",") {
			dim, val, ok := strings.Cut(strings.TrimSpace(lim), ":")
			if !ok {
				return nil, fmt.Errorf("rate limit %q: want principal:N/UNIT[:BURST] or ip:N/UNIT[:BURST]", lim)
			}
			l, err := parseLimit(val)
			if err != nil {
				return nil, fmt.Errorf("rate limit %s %s: %w", proc, dim, err)
			}
			switch dim {
			case "principal", "user":
				r.PerPrincipal = l
			case "ip":
				r.PerIP = l
			default:
				return nil, fmt.Errorf("rate limit %s: unknown dimension %q (principal or ip)", proc, dim)
			}
		}
		if proc == "default" {
			opts = append(opts, WithDefault(r))
		} else {
			opts = append(opts, WithRule(proc, r))
		}
	}
	return opts, nil
}

// parseLimit reads N/UNIT[:BURST] or "off".
func parseLimit(s string) (Limit, error) {
	if s == "off" {
		return Limit{}, nil
	}
	rateS, burstS, hasBurst := strings.Cut(s, ":")
	nS, unit, ok := strings.Cut(rateS, "/")
	if !ok {
		return Limit{}, fmt.Errorf("%q: want N/s, N/m or N/h", s)
	}
	n, err := strconv.ParseFloat(nS, 64)
	if err != nil || n <= 0 {
		return Limit{}, fmt.Errorf("%q: %q is not a positive number", s, nS)
	}
	per := map[string]float64{"s": 1, "m": 60, "h": 3600}[unit]
	if per == 0 {
		return Limit{}, fmt.Errorf("%q: unit %q is not s, m or h", s, unit)
	}
	burst := int(n)
	if hasBurst {
		if burst, err = strconv.Atoi(burstS); err != nil || burst < 1 {
			return Limit{}, fmt.Errorf("%q: burst %q is not a positive integer", s, burstS)
		}
	}
	if burst < 1 {
		burst = 1
	}
	return Limit{Rate: rate.Limit(n / per), Burst: burst}, nil
}
