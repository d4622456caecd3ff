package ranker

import (
	"errors"
	"strings"
	"testing"
)

func TestReadTSV(t *testing.T) {
	in := "user_id\titem_id\ttime\nu1\ti1\t10\nu2\ti2\t5\nu1\ti2\t20\n\n"
	x, err := ReadTSV(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if x.Len() != 3 || x.Users.Len() != 2 || x.NumItems() != 2 {
		t.Fatalf("got %d rows, %d users, %d items; want 3, 2, 2", x.Len(), x.Users.Len(), x.NumItems())
	}
	if got := x.Items.Name(int32(x.Item[2])); got != "i2" || x.Time[2] != 20 || x.Weight[2] != 1 {
		t.Fatalf("row 3 = item %q time %d weight %v", got, x.Time[2], x.Weight[2])
	}
}

func TestReadTSVWeights(t *testing.T) {
	x, err := ReadTSV(strings.NewReader("user_id\titem_id\ttime\tweight\r\na\tb\t1\t0.5\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if x.Weight[0] != 0.5 {
		t.Fatalf("weight %v, want 0.5", x.Weight[0])
	}
}

func TestReadTSVErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"empty", "", "empty input"},
		{"bad header", "user\titem\ttime\n", "line 1: header"},
		{"few fields", "user_id\titem_id\ttime\na\tb\t1\nc\td\n", "line 3: 2 fields, want 3"},
		{"many fields", "user_id\titem_id\ttime\na\tb\t1\t2\t3\t4\n", "line 2: 5 fields, want 3"},
		{"bad time", "user_id\titem_id\ttime\na\tb\tyesterday\n", `line 2: time "yesterday"`},
		{"empty id", "user_id\titem_id\ttime\n\tb\t1\n", "line 2: empty user or item id"},
		{"bad weight", "user_id\titem_id\ttime\tweight\na\tb\t1\t-1\n", `line 2: weight "-1"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadTSV(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want one containing %q and wrapping ErrMalformed", err, tc.want)
			}
		})
	}
}

func TestHistoriesStableByTime(t *testing.T) {
	x := NewInteractions()
	// equal times keep log order; earlier times move first
	x.Add("u", "c", 5, 1)
	x.Add("u", "a", 3, 1)
	x.Add("u", "b", 5, 1)
	x.Add("v", "a", 1, 1)
	hs := x.Histories()
	var got []string
	for _, e := range hs[0] {
		got = append(got, x.Items.Name(int32(e.Item)))
	}
	if strings.Join(got, ",") != "a,c,b" {
		t.Fatalf("history %v, want a,c,b", got)
	}
	if len(hs[1]) != 1 {
		t.Fatalf("user v has %d events, want 1", len(hs[1]))
	}
}
