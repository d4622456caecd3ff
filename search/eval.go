package search

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Judgment is one labelled query: graded relevant products (1–3; any other
// product is grade 0) and its kind (plain, synonym, pinyin_full, …).
type Judgment struct {
	Query  string
	Kind   string
	Grades map[string]int
}

// ReadJudgments parses a TSV with the header `query	product_id	grade` and
// an optional fourth column `kind`, one line per relevant product. Queries
// without a kind get InferKind's guess. Order of first appearance is kept.
func ReadJudgments(r io.Reader) ([]Judgment, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	if !sc.Scan() {
		return nil, fmt.Errorf("queries file is empty")
	}
	header := strings.Split(strings.TrimSpace(sc.Text()), "\t")
	if len(header) < 3 || header[0] != "query" || header[1] != "product_id" || header[2] != "grade" {
		return nil, fmt.Errorf("queries header is %q, want query<TAB>product_id<TAB>grade[<TAB>kind]", sc.Text())
	}
	byQuery := map[string]*Judgment{}
	var order []*Judgment
	for line := 2; sc.Scan(); line++ {
		text := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" {
			continue
		}
		cols := strings.Split(text, "\t")
		if len(cols) < 3 {
			return nil, fmt.Errorf("queries line %d: %d columns, want at least 3", line, len(cols))
		}
		g, err := strconv.Atoi(strings.TrimSpace(cols[2]))
		if err != nil || g < 0 || g > 3 {
			return nil, fmt.Errorf("queries line %d: grade %q is not 0..3", line, cols[2])
		}
		q := cols[0]
		j := byQuery[q]
		if j == nil {
			j = &Judgment{Query: q, Grades: map[string]int{}}
			byQuery[q] = j
			order = append(order, j)
		}
		if len(cols) > 3 && strings.TrimSpace(cols[3]) != "" && j.Kind == "" {
			j.Kind = strings.TrimSpace(cols[3])
		}
		if g > 0 {
			j.Grades[strings.TrimSpace(cols[1])] = g
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	out := make([]Judgment, len(order))
	var py *pinyinTable
	for i, j := range order {
		if j.Kind == "" {
			if py == nil {
				py = newPinyinTable()
			}
			j.Kind = inferKind(j.Query, py)
		}
		out[i] = *j
	}
	return out, nil
}

// InferKind guesses a query's kind from its text: pinyin_full,
// pinyin_initials, latin (brand or model, possibly misspelt), mixed
// (Chinese with Latin), multi_word (Chinese with spaces) or plain.
func InferKind(q string) string { return inferKind(q, newPinyinTable()) }

func inferKind(q string, py *pinyinTable) string {
	n := normalize(strings.TrimSpace(q))
	if !hasHan(n) {
		compact := strings.ReplaceAll(n, " ", "")
		if isASCIILower(compact) {
			if syl, ok := py.split(compact); ok && len(syl) >= 2 {
				return "pinyin_full"
			}
			if len(compact) <= 5 && strings.IndexAny(compact, "aeiou") < 0 {
				return "pinyin_initials"
			}
		}
		return "latin"
	}
	for _, r := range n {
		if r < 0x80 && wordRune(r) {
			return "mixed"
		}
	}
	if strings.ContainsRune(n, ' ') {
		return "multi_word"
	}
	return "plain"
}

// RankFunc returns the ids of the top results for a query text, best
// first. An error wrapping ErrInvalidQuery counts as no results.
type RankFunc func(ctx context.Context, text string) ([]string, error)

// Metrics are averages over a set of queries.
type Metrics struct {
	Queries  int
	NDCG10   float64 // gain 2^grade−1, ideal = all labelled products
	MRR10    float64 // reciprocal rank of the first grade-3 result
	ZeroRate float64 // share of queries returning nothing
}

// Report holds overall and per-kind metrics.
type Report struct {
	Overall  Metrics
	ByKind   map[string]Metrics
	PerQuery []QueryResult // in judgment order
}

// QueryResult is one query's outcome.
type QueryResult struct {
	Query, Kind string
	NDCG10      float64
	RR10        float64
	Top         []string // ids returned, best first
}

// Kinds returns the report's kinds, sorted.
func (r Report) Kinds() []string {
	out := make([]string, 0, len(r.ByKind))
	for k := range r.ByKind {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Evaluate runs every judgment through rank and averages the metrics.
func Evaluate(ctx context.Context, js []Judgment, rank RankFunc) (Report, error) {
	type acc struct {
		n, zero   int
		ndcg, mrr float64
	}
	all := &acc{}
	kinds := map[string]*acc{}
	var per []QueryResult
	for _, j := range js {
		ids, err := rank(ctx, j.Query)
		if err != nil && !errors.Is(err, ErrInvalidQuery) {
			return Report{}, fmt.Errorf("query %q: %w", j.Query, err)
		}
		nd, rr := NDCG(ids, j.Grades, 10), ReciprocalRank(ids, j.Grades, 10)
		per = append(per, QueryResult{Query: j.Query, Kind: j.Kind, NDCG10: nd, RR10: rr, Top: ids})
		k := kinds[j.Kind]
		if k == nil {
			k = &acc{}
			kinds[j.Kind] = k
		}
		for _, a := range []*acc{all, k} {
			a.n++
			a.ndcg += nd
			a.mrr += rr
			if len(ids) == 0 {
				a.zero++
			}
		}
	}
	m := func(a *acc) Metrics {
		if a.n == 0 {
			return Metrics{}
		}
		n := float64(a.n)
		return Metrics{Queries: a.n, NDCG10: a.ndcg / n, MRR10: a.mrr / n, ZeroRate: float64(a.zero) / n}
	}
	rep := Report{Overall: m(all), ByKind: map[string]Metrics{}, PerQuery: per}
	for k, a := range kinds {
		rep.ByKind[k] = m(a)
	}
	return rep, nil
}

// NDCG is NDCG@k with gain 2^grade−1 against the ideal ordering of all
// graded products.
func NDCG(ranked []string, grades map[string]int, k int) float64 {
	dcg := 0.0
	for i, id := range ranked[:min(k, len(ranked))] {
		dcg += (math.Exp2(float64(grades[id])) - 1) / math.Log2(float64(i+2))
	}
	ideal := make([]int, 0, len(grades))
	for _, g := range grades {
		ideal = append(ideal, g)
	}
	sort.Sort(sort.Reverse(sort.IntSlice(ideal)))
	idcg := 0.0
	for i, g := range ideal[:min(k, len(ideal))] {
		idcg += (math.Exp2(float64(g)) - 1) / math.Log2(float64(i+2))
	}
	if idcg == 0 {
		return 0
	}
	return dcg / idcg
}

// ReciprocalRank is 1/rank of the first grade-3 result within the top k,
// or 0.
func ReciprocalRank(ranked []string, grades map[string]int, k int) float64 {
	for i, id := range ranked[:min(k, len(ranked))] {
		if grades[id] == 3 {
			return 1 / float64(i+1)
		}
	}
	return 0
}
