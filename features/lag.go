package features

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// lagHistogram counts durations in log-linear buckets: 8 sub-buckets per
// power of two of microseconds, so quantiles are within 12.5 %.
type lagHistogram struct {
	n   [64 * 8]atomic.Int64
	max atomic.Int64 // µs
}

func lagBucket(us int64) int {
	if us < 8 {
		return int(max(us, 0))
	}
	p := bits.Len64(uint64(us)) - 1 // us in [2^p, 2^(p+1))
	sub := int(us>>(p-3)) & 7
	return (p-2)*8 + sub
}

// lagLow is the lower bound in µs of bucket i.
func lagLow(i int) int64 {
	if i < 8 {
		return int64(i)
	}
	p := i/8 + 2
	return int64(8+i%8) << (p - 3)
}

func (h *lagHistogram) observe(d time.Duration) {
	us := d.Microseconds()
	h.n[lagBucket(us)].Add(1)
	for {
		m := h.max.Load()
		if us <= m || h.max.CompareAndSwap(m, us) {
			return
		}
	}
}

func (h *lagHistogram) reset() {
	for i := range h.n {
		h.n[i].Store(0)
	}
	h.max.Store(0)
}

// LagStats summarise the event-to-feature lag.
type LagStats struct {
	Count         int64
	P50, P99, Max time.Duration
}

func (h *lagHistogram) stats() LagStats {
	var counts [len(h.n)]int64
	var total int64
	for i := range h.n {
		counts[i] = h.n[i].Load()
		total += counts[i]
	}
	st := LagStats{Count: total, Max: time.Duration(h.max.Load()) * time.Microsecond}
	if total == 0 {
		return st
	}
	q := func(f float64) time.Duration {
		rank := int64(f*float64(total-1)) + 1
		var c int64
		for i, n := range counts {
			c += n
			if c >= rank {
				// upper bound of the bucket, capped by the maximum
				return min(time.Duration(lagLow(i+1))*time.Microsecond, st.Max)
			}
		}
		return st.Max
	}
	st.P50, st.P99 = q(0.50), q(0.99)
	return st
}

// ObserveLag records one event-to-feature lag. Follow calls it for every
// event it applies; other feeders may too.
func (s *Store) ObserveLag(d time.Duration) { s.lag.observe(d) }

// ResetLag clears the lag statistics (e.g. after warm-up catch-up).
func (s *Store) ResetLag() { s.lag.reset() }
