package main

import (
	"fmt"
	"runtime/metrics"
	"syscall"
	"time"
)

// procSample is the server process's garbage collection and CPU so far,
// from runtime/metrics (the runtime's estimates).
type procSample struct {
	cpu      time.Duration // CPU time of the process (user and system, getrusage)
	user, gc float64       // runtime estimates, CPU seconds: Go code, and GC work that took CPU from it (assists, dedicated workers, pauses)
	alloc    uint64        // heap bytes allocated
	cycles   uint64        // GC cycles completed
}

var procMetrics = []string{
	"/cpu/classes/user:cpu-seconds",
	"/cpu/classes/gc/mark/assist:cpu-seconds",
	"/cpu/classes/gc/mark/dedicated:cpu-seconds",
	"/cpu/classes/gc/pause:cpu-seconds",
	"/gc/heap/allocs:bytes",
	"/gc/cycles/total:gc-cycles",
}

func sampleProc() procSample {
	s := make([]metrics.Sample, len(procMetrics))
	for i, name := range procMetrics {
		s[i].Name = name
	}
	metrics.Read(s)
	f := func(i int) float64 {
		if s[i].Value.Kind() == metrics.KindFloat64 {
			return s[i].Value.Float64()
		}
		return 0
	}
	u := func(i int) uint64 {
		if s[i].Value.Kind() == metrics.KindUint64 {
			return s[i].Value.Uint64()
		}
		return 0
	}
	return procSample{cpu: selfCPU(), user: f(0), gc: f(1) + f(2) + f(3), alloc: u(4), cycles: u(5)}
}

// selfCPU is the CPU time this process has used so far, user and system
// (getrusage), or 0 if the OS does not say.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// sayServerCost prints what n requests since before cost the server
// process: GC cycles, the share of its busy CPU spent in GC (the runtime's
// estimate, which counts time the OS ran other processes alike), and its
// CPU time and heap bytes per request, and the load generator's CPU
// time per request. The writer's and snapshot's work is
// in these too.
// genCPU is the load generator's CPU time for the same requests, which
// it reports itself.
func sayServerCost(before procSample, n int, genCPU time.Duration) {
	if n <= 0 {
		return
	}
	after := sampleProc()
	// The runtime updates its CPU estimates at each GC: without a cycle in
	// between there is no share to print.
	share := "no GC cycle to estimate its share in GC"
	if user, gc := after.user-before.user, after.gc-before.gc; after.cycles > before.cycles && user+gc > 0 {
		share = fmt.Sprintf("%.0f%% of its busy CPU in GC", 100*gc/(user+gc))
	}
	say("server: %d GC cycles, %s; per request %.0f µs of CPU, %.1f KB allocated; load generator %.0f µs of CPU per request",
		after.cycles-before.cycles, share, float64((after.cpu-before.cpu).Microseconds())/float64(n),
		float64(after.alloc-before.alloc)/1024/float64(n), float64(genCPU.Microseconds())/float64(n))
}
