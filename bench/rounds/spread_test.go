package rounds

import (
	"errors"
	"fmt"
	"testing"
)

func TestRunInterleavesAndSpreads(t *testing.T) {
	var order []string
	a, b := 0.0, 100.0
	got, err := Run(2, // raised to Min
		func() (float64, error) { order = append(order, "a"); a++; return a, nil },
		func() (float64, error) { order = append(order, "b"); b -= 10; return b, nil })
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(order[:4]) != "[a b b a]" || len(order) != 2*Min {
		t.Errorf("order %v: want %d runs, the first side rotating", order, 2*Min)
	}
	if g := got[0]; g.Median != 3 || g.Min != 1 || g.Max != 5 || len(g.Runs) != Min {
		t.Errorf("side a %+v, want median 3 min 1 max 5 over %d rounds", g, Min)
	}
	if g := got[1]; g.Median != 70 || g.Min != 50 || g.Max != 90 {
		t.Errorf("side b %+v, want median 70 min 50 max 90", g)
	}
	if s := got[1].String(); s != "median 70.00 (min 50.00, max 90.00, 5 rounds)" {
		t.Errorf("String() = %q", s)
	}
}

func TestRunStopsAtFirstError(t *testing.T) {
	boom := errors.New("boom")
	calls := 0
	_, err := Run(Min,
		func() (float64, error) { calls++; return 1, nil },
		func() (float64, error) { calls++; return 0, boom })
	if !errors.Is(err, boom) || calls != 2 {
		t.Errorf("err %v after %d calls, want boom after 2", err, calls)
	}
}

func TestSummarizeLargeFigures(t *testing.T) {
	s := Summarize([]float64{443465.4, 401200, 460311})
	if got := s.String(); got != "median 443465 (min 401200, max 460311, 3 rounds)" {
		t.Errorf("String() = %q", got)
	}
	if z := Summarize(nil); z.Median != 0 || z.Runs != nil {
		t.Error("Summarize(nil) is not zero")
	}
}
