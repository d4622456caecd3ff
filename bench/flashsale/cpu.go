package main

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// clockTick is Linux's USER_HZ, the unit of /proc/<pid>/stat's times.
const clockTick = 100

// cpuSample is the CPU time used so far by this process, by the buyers'
// process and by the machine's postgres processes (read from /proc:
// PostgreSQL runs on this machine, as in the bench's setup), and the wall
// clock.
type cpuSample struct {
	self, phones, pg time.Duration
	at               time.Time
}

func sampleCPU(phones *buyers) cpuSample {
	s := cpuSample{at: time.Now(), phones: phones.cpu()}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	s.pg = postgresCPU()
	return s
}

// postgresCPU sums user and system time of the processes named postgres
// (0 where /proc cannot be read).
func postgresCPU() time.Duration {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var t time.Duration
	for _, p := range stats {
		t += procCPU(p, "postgres")
	}
	return t
}

// cpuUse is the CPU a phase used: this process's, the buyers' process's and
// PostgreSQL's, per unit sold and as cores busy.
func cpuUse(from, to cpuSample, units int64) string {
	wall := to.at.Sub(from.at).Seconds()
	use := func(name string, d time.Duration) string {
		return fmt.Sprintf("%s %.0fµs/unit %.2f cores", name, d.Seconds()/float64(units)*1e6, d.Seconds()/wall)
	}
	s := use("go", to.self-from.self)
	if d := to.phones - from.phones; d > 0 {
		s += ", " + use("buyers", d)
	}
	return s + ", " + use("pg", to.pg-from.pg)
}

// histogram counts batch sizes in power-of-two buckets.
type histogram struct {
	mu     sync.Mutex
	counts map[int]int
	n, sum int
}

func newHistogram() *histogram { return &histogram{counts: map[int]int{}} }

func (h *histogram) observe(size int) {
	b := 1
	for b < size {
		b *= 2
	}
	h.mu.Lock()
	h.counts[b]++
	h.n++
	h.sum += size
	h.mu.Unlock()
}

// take returns the histogram as text and resets it.
func (h *histogram) take() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n == 0 {
		return "no batches"
	}
	var bs []int
	for b := range h.counts {
		bs = append(bs, b)
	}
	sort.Ints(bs)
	var sb strings.Builder
	fmt.Fprintf(&sb, "%d batches, mean %.1f:", h.n, float64(h.sum)/float64(h.n))
	for _, b := range bs {
		fmt.Fprintf(&sb, " ≤%d:%d", b, h.counts[b])
	}
	h.counts, h.n, h.sum = map[int]int{}, 0, 0
	return sb.String()
}
