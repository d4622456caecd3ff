package offline

import (
	"errors"
	"testing"

	"github.com/tide-live/tide/ranker"
)

func names(x *ranker.Interactions, h ranker.History) []string {
	var out []string
	for _, e := range h {
		out = append(out, x.Items.Name(int32(e.Item)))
	}
	return out
}

func TestLeaveLastOut(t *testing.T) {
	x := ranker.NewInteractions()
	// u1: five events, two sharing time 3 (log order decides: c before d)
	for _, r := range []struct {
		u, i string
		t    int64
	}{
		{"u1", "e", 9}, {"u1", "a", 1}, {"u2", "a", 1}, {"u1", "c", 3}, {"u1", "d", 3},
		{"u3", "z", 7}, {"u1", "b", 2}, {"u2", "b", 2}, {"u3", "y", 6}, {"u3", "x", 5},
		{"u4", "a", 1}, {"u4", "b", 1}, {"u4", "c", 1},
	} {
		x.Add(r.u, r.i, r.t, 1)
	}
	sp, err := LeaveLastOut(x)
	if err != nil {
		t.Fatal(err)
	}
	if len(sp.Validation) != 3 || len(sp.Test) != 3 {
		t.Fatalf("%d validation and %d test cases, want 3 and 3 (u2 has only 2 events)", len(sp.Validation), len(sp.Test))
	}
	want := []struct {
		valHist, testHist []string
		val, test         string
	}{
		{[]string{"a", "b", "c"}, []string{"a", "b", "c", "d"}, "d", "e"}, // u1
		{[]string{"x"}, []string{"x", "y"}, "y", "z"},                     // u3
		{[]string{"a"}, []string{"a", "b"}, "b", "c"},                     // u4: equal times keep log order
	}
	for i, w := range want {
		v, te := sp.Validation[i], sp.Test[i]
		if got := names(x, v.History); !equal(got, w.valHist) || x.Items.Name(int32(v.Target)) != w.val {
			t.Errorf("validation %d: history %v target %s, want %v %s", i, got, x.Items.Name(int32(v.Target)), w.valHist, w.val)
		}
		if got := names(x, te.History); !equal(got, w.testHist) || x.Items.Name(int32(te.Target)) != w.test {
			t.Errorf("test %d: history %v target %s, want %v %s", i, got, x.Items.Name(int32(te.Target)), w.testHist, w.test)
		}
		if v.User != te.User {
			t.Errorf("case %d: users differ", i)
		}
	}
	// training: u1 a,b,c; u2 a,b (not evaluated, still trained on); u3 x; u4 a
	if sp.Train.Len() != 7 {
		t.Fatalf("%d training rows, want 7", sp.Train.Len())
	}
	if sp.Train.Items != x.Items {
		t.Fatal("training log does not share the item ids")
	}
	// training plus validation: the training rows and each validation
	// target (u1 d, u3 y, u4 b), never a test target
	if sp.TrainValidation.Len() != 10 {
		t.Fatalf("%d training+validation rows, want 10", sp.TrainValidation.Len())
	}
	hs := sp.TrainValidation.Histories()
	for i, w := range want {
		u := sp.Validation[i].User
		h := names(x, hs[u])
		if !equal(h, append(append([]string(nil), w.valHist...), w.val)) {
			t.Errorf("case %d: training+validation history %v, want %v then %s", i, h, w.valHist, w.val)
		}
	}
}

func TestLeaveLastOutTooLittleData(t *testing.T) {
	x := ranker.NewInteractions()
	for _, u := range []string{"u1", "u2"} {
		for i, it := range []string{"a", "b", "c"} {
			x.Add(u, it, int64(i), 1)
		}
	}
	x.Add("u3", "a", 1, 1)
	_, err := LeaveLastOut(x)
	if !errors.Is(err, ranker.ErrTooLittleData) {
		t.Fatalf("err = %v, want ErrTooLittleData", err)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
