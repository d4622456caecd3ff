package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// clockTick is Linux's USER_HZ, the unit of /proc/<pid>/stat's times.
const clockTick = 100

// cpuSample is the CPU time used so far by this process and by the
// machine's postgres processes (read from /proc: PostgreSQL runs on this
// machine, as in the bench's setup), and the wall clock.
type cpuSample struct {
	self, pg time.Duration
	at       time.Time
}

func sampleCPU() cpuSample {
	s := cpuSample{at: time.Now()}
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
	var ticks int64
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
		if open < 0 || end < open || string(b[open+1:end]) != "postgres" {
			continue
		}
		f := strings.Fields(string(b[end+1:]))
		if len(f) < 13 {
			continue
		}
		// Fields after the name: state(0) … utime(11) stime(12).
		u, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += u + st
	}
	return time.Duration(ticks) * time.Second / clockTick
}

// cpuUse is the CPU a phase used: this process's and PostgreSQL's, per
// unit sold and as cores busy.
func cpuUse(from, to cpuSample, units int64) string {
	wall := to.at.Sub(from.at).Seconds()
	self, pg := (to.self - from.self).Seconds(), (to.pg - from.pg).Seconds()
	return fmt.Sprintf("go %.0fµs/unit %.2f cores, pg %.0fµs/unit %.2f cores",
		self/float64(units)*1e6, self/wall, pg/float64(units)*1e6, pg/wall)
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
