package democatalog

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"
)

func TestCatalogShape(t *testing.T) {
	sc := bufio.NewScanner(Open())
	sc.Buffer(nil, 1<<20)
	n, dual, unbranded, lists := 0, 0, 0, 0
	tops := map[string]bool{}
	ids := map[string]bool{}
	for sc.Scan() {
		var p struct {
			ID, Title, Brand, Category string
			PriceFen                   int64 `json:"price_fen"`
			Attrs                      map[string]any
		}
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			t.Fatalf("line %d: %v", n+1, err)
		}
		n++
		if p.ID == "" || p.Title == "" || p.PriceFen <= 0 || ids[p.ID] {
			t.Fatalf("bad product %+v", p)
		}
		ids[p.ID] = true
		top, _, ok := strings.Cut(p.Category, "/")
		if !ok {
			t.Fatalf("category %q is not 一级/二级", p.Category)
		}
		tops[top] = true
		switch {
		case p.Brand == "无品牌":
			unbranded++
		case strings.Contains(p.Brand, "/"):
			dual++
		}
		for _, v := range p.Attrs {
			if _, ok := v.([]any); ok {
				lists++
			}
		}
	}
	if n < 1000 || n > 3000 {
		t.Errorf("catalog has %d products, want 1000..3000", n)
	}
	if len(tops) < 7 || dual == 0 || unbranded == 0 || lists == 0 {
		t.Errorf("tops=%d dual=%d unbranded=%d list attrs=%d", len(tops), dual, unbranded, lists)
	}
}
