package gctarget

import (
	"math"
	"runtime/debug"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestFromEnv(t *testing.T) {
	for _, tc := range []struct {
		name       string
		env        map[string]string
		setPercent bool
		setLimit   bool
		limit      int64
	}{
		{"unset", nil, true, false, math.MaxInt64},
		{"GOGC set", map[string]string{"GOGC": "50"}, false, false, math.MaxInt64},
		{"limit", map[string]string{"TIDE_MEMORY_LIMIT": "512MiB"}, true, true, 512 << 20},
		{"limit in bytes", map[string]string{"TIDE_MEMORY_LIMIT": "1000000"}, true, true, 1000000},
		{"GOMEMLIMIT wins", map[string]string{"TIDE_MEMORY_LIMIT": "512MiB", "GOMEMLIMIT": "1GiB"}, true, false, math.MaxInt64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := FromEnv(env(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			if s.SetPercent != tc.setPercent || (s.SetPercent && s.Percent != DefaultPercent) {
				t.Errorf("percent %d set %v, want set %v", s.Percent, s.SetPercent, tc.setPercent)
			}
			if s.SetLimit != tc.setLimit || s.MemoryLimit != tc.limit {
				t.Errorf("limit %d set %v, want %d set %v", s.MemoryLimit, s.SetLimit, tc.limit, tc.setLimit)
			}
		})
	}
}

func TestFromEnvRefusesBadLimit(t *testing.T) {
	for _, v := range []string{"lots", "0", "-5MiB", "3 parsecs"} {
		if _, err := FromEnv(env(map[string]string{"TIDE_MEMORY_LIMIT": v})); err == nil || !strings.Contains(err.Error(), "TIDE_MEMORY_LIMIT") {
			t.Errorf("%q: %v, want an error naming TIDE_MEMORY_LIMIT", v, err)
		}
	}
}

func TestApply(t *testing.T) {
	percent, limit := debug.SetGCPercent(-1), debug.SetMemoryLimit(-1)
	debug.SetGCPercent(percent)
	t.Cleanup(func() {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	})
	got, err := ApplyEnv(env(map[string]string{"TIDE_MEMORY_LIMIT": "3GiB"}))
	if err != nil {
		t.Fatal(err)
	}
	if p := debug.SetGCPercent(DefaultPercent); p != DefaultPercent || got.Percent != DefaultPercent {
		t.Errorf("GC percent %d (reported %d), want %d", p, got.Percent, DefaultPercent)
	}
	if l := debug.SetMemoryLimit(-1); l != 3<<30 || got.MemoryLimit != 3<<30 {
		t.Errorf("memory limit %d (reported %d), want %d", l, got.MemoryLimit, int64(3<<30))
	}
	// GOGC set: the runtime's percent stays and is reported.
	debug.SetGCPercent(77)
	got, err = ApplyEnv(env(map[string]string{"GOGC": "77"}))
	if err != nil {
		t.Fatal(err)
	}
	if p := debug.SetGCPercent(-1); p != 77 || got.Percent != 77 {
		t.Errorf("GC percent %d (reported %d), want the runtime's 77", p, got.Percent)
	}
}
