package ratelimit

import (
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
)

// A batch of n takes n tokens; a call that would overdraw takes none.
func TestCostChargesWhatACallCarries(t *testing.T) {
	clk := newClock()
	l := New(WithClock(clk.now), WithRule("/track", Rule{PerPrincipal: PerSecond(10, 100)}),
		WithCost("/track", func(msg any) int { return len(msg.([]int)) }))
	if c := l.cost("/track", make([]int, 60)); c != 60 {
		t.Fatalf("cost of 60 items = %d", c)
	}
	if c := l.cost("/track", []int{}); c != 1 {
		t.Fatalf("cost of an empty call = %d, want 1", c)
	}
	if c := l.cost("/other", make([]int, 60)); c != 1 {
		t.Fatalf("cost of a call without a cost function = %d, want 1", c)
	}
	if ok, _ := l.AllowN("/track", ByPrincipal, "u:a", 60); !ok {
		t.Fatal("60 of a burst of 100 refused")
	}
	ok, retry := l.AllowN("/track", ByPrincipal, "u:a", 60)
	if ok || retry != 2*time.Second {
		t.Fatalf("60 more: ok=%v retry=%v, want refused until 20 tokens refill (2s)", ok, retry)
	}
	if ok, _ := l.AllowN("/track", ByPrincipal, "u:a", 40); !ok {
		t.Fatal("the 40 tokens left were not there: the refused call took some")
	}
	if ok, _ := l.AllowN("/track", ByPrincipal, "u:a", 1); ok {
		t.Fatal("101st event in a burst of 100 allowed")
	}
	clk.advance(time.Hour)
	ok, retry = l.AllowN("/track", ByPrincipal, "u:a", 101)
	if ok {
		t.Fatal("a call of more than the burst allowed")
	}
	err := l.refuse("/track", ByPrincipal, 101, retry)
	if connect.CodeOf(err) != connect.CodeResourceExhausted || !strings.Contains(err.Error(), "carrying 101 items") ||
		!strings.Contains(err.Error(), "(100); split it") {
		t.Errorf("refusal of an oversize call: %v", err)
	}
	if err := l.refuse("/track", ByPrincipal, 5, time.Second); !strings.Contains(err.Error(), "too many track items (events)") {
		t.Errorf("refusal of a counted call: %v", err)
	}
}
