package search

import (
	"context"
	"math"
	"strings"
	"testing"
)

func TestMetrics(t *testing.T) {
	grades := map[string]int{"a": 3, "b": 1}
	if got := NDCG([]string{"a", "b"}, grades, 10); got != 1 {
		t.Errorf("ideal ndcg %v", got)
	}
	want := (1/math.Log2(2) + 7/math.Log2(3)) / (7/math.Log2(2) + 1/math.Log2(3))
	if got := NDCG([]string{"b", "a"}, grades, 10); math.Abs(got-want) > 1e-9 {
		t.Errorf("swapped ndcg %v, want %v", got, want)
	}
	if got := ReciprocalRank([]string{"x", "b", "a"}, grades, 10); got != 1.0/3 {
		t.Errorf("rr %v", got)
	}
	if NDCG(nil, grades, 10) != 0 || ReciprocalRank([]string{"b"}, grades, 10) != 0 {
		t.Error("empty results score")
	}
}

func TestReadJudgmentsAndEvaluate(t *testing.T) {
	in := "query\tproduct_id\tgrade\nlyq\td1\t3\nlyq\td2\t2\niphone\tp1\t3\n连衣裙\td1\t3\nnope\tx\t3\n"
	js, err := ReadJudgments(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(js) != 4 || js[0].Kind != "pinyin_initials" || js[1].Kind != "latin" || js[2].Kind != "plain" || len(js[0].Grades) != 2 {
		t.Fatalf("judgments %+v", js)
	}
	if _, err := ReadJudgments(strings.NewReader("q\tid\n")); err == nil {
		t.Error("bad header accepted")
	}
	for q, want := range map[string]string{"lianyiqun": "pinyin_full", "nike跑鞋": "mixed", "黑色 连衣裙": "multi_word"} {
		if got := InferKind(q); got != want {
			t.Errorf("InferKind(%q) = %s, want %s", q, got, want)
		}
	}
	ix := sharedIndex(t)
	rep, err := Evaluate(context.Background(), js, func(ctx context.Context, text string) ([]string, error) {
		resp, err := ix.Search(ctx, Request{Text: text, Limit: 10})
		if err != nil {
			return nil, err
		}
		return ids(resp), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Overall.Queries != 4 || rep.ByKind["latin"].ZeroRate != 0.5 || rep.PerQuery[1].NDCG10 != 1 || rep.Overall.NDCG10 < 0.5 {
		t.Errorf("report %+v", rep)
	}
}
