// Package gctarget sets the Go garbage collector's target for a server
// process: a higher GOGC than the runtime's default of 100 when GOGC is
// unset (fewer collections per request), bounded by a memory limit from
// TIDE_MEMORY_LIMIT or GOMEMLIMIT so that the heap stays within what the
// host gives the process. `tide serve` and the benches that measure its
// handlers apply the same settings.
package gctarget

import (
	"fmt"
	"math"
	"runtime/debug"

	"github.com/dustin/go-humanize"
)

// DefaultPercent is the GC percent set when GOGC is unset: the heap may
// grow to three times what is live between collections.
const DefaultPercent = 200

// Settings is the collector's target a process runs with.
type Settings struct {
	// Percent is the GC percent (GOGC); SetPercent says whether Apply sets
	// it (false: GOGC is set and the runtime applied it already).
	Percent    int
	SetPercent bool
	// MemoryLimit is the soft memory limit in bytes (math.MaxInt64: none);
	// SetLimit says whether Apply sets it (false: GOMEMLIMIT is set and
	// the runtime applied it, or no limit is asked for).
	MemoryLimit int64
	SetLimit    bool
}

// FromEnv is the settings getenv asks for: DefaultPercent unless GOGC is
// set, and TIDE_MEMORY_LIMIT (bytes, with an optional unit such as 512MiB
// or 2GiB) unless GOMEMLIMIT is set. A bad TIDE_MEMORY_LIMIT is an error
// naming it.
func FromEnv(getenv func(string) string) (Settings, error) {
	s := Settings{Percent: DefaultPercent, SetPercent: getenv("GOGC") == "", MemoryLimit: math.MaxInt64}
	if !s.SetPercent {
		s.Percent = -2 // the runtime's, from GOGC
	}
	v := getenv("TIDE_MEMORY_LIMIT")
	if v == "" || getenv("GOMEMLIMIT") != "" {
		return s, nil
	}
	n, err := humanize.ParseBytes(v)
	if err != nil || n == 0 || n > math.MaxInt64 {
		return s, fmt.Errorf("TIDE_MEMORY_LIMIT %q: want a positive size such as 512MiB or 2GiB", v)
	}
	s.MemoryLimit, s.SetLimit = int64(n), true
	return s, nil
}

// Apply puts s in force and returns the settings the process now runs
// with (the runtime's own where s leaves them).
func Apply(s Settings) Settings {
	if s.SetPercent {
		debug.SetGCPercent(s.Percent)
	} else {
		s.Percent = debug.SetGCPercent(-1)
		debug.SetGCPercent(s.Percent)
	}
	if s.SetLimit {
		debug.SetMemoryLimit(s.MemoryLimit)
	} else {
		s.MemoryLimit = debug.SetMemoryLimit(-1)
	}
	return s
}

// ApplyEnv is FromEnv then Apply.
func ApplyEnv(getenv func(string) string) (Settings, error) {
	s, err := FromEnv(getenv)
	if err != nil {
		return s, err
	}
	return Apply(s), nil
}
