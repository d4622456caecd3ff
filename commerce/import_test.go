package commerce

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// memCatalog is an in-memory ProductWriter keyed by content hash.
type memCatalog struct {
	hashes  map[string][32]byte
	batches []int
	fail    error
}

func newMemCatalog() *memCatalog { return &memCatalog{hashes: map[string][32]byte{}} }

func (m *memCatalog) WriteProducts(_ context.Context, ps []Product) (WriteResult, error) {
	if m.fail != nil {
		return WriteResult{}, m.fail
	}
	m.batches = append(m.batches, len(ps))
	var r WriteResult
	for i := range ps {
		h := ps[i].ContentHash()
		old, ok := m.hashes[ps[i].ID]
		switch {
		case !ok:
			r.Created++
		case old != h:
			r.Updated++
		default:
			r.Unchanged++
		}
		m.hashes[ps[i].ID] = h
	}
	return r, nil
}

func jsonl(n int, title string) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{"id":"p%05d","merchant_id":"m01","title":"%s %d","price_fen":%d}`+"\n", i, title, i, 100+i)
	}
	return b.String()
}

func importString(t *testing.T, w ProductWriter, src string, opts ...ImportOption) Summary {
	t.Helper()
	r, err := NewReader(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := Import(context.Background(), r, w, opts...)
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	return sum
}

func TestImportBatchesAndRerun(t *testing.T) {
	cat := newMemCatalog()
	progress := 0
	sum := importString(t, cat, jsonl(1201, "连衣裙"), BatchSize(500), OnProgress(func(Summary) { progress++ }))
	if sum.Created != 1201 || sum.Updated+sum.Unchanged+sum.Rejected != 0 {
		t.Errorf("first import: %v", sum)
	}
	if fmt.Sprint(cat.batches) != "[500 500 201]" || progress != 3 {
		t.Errorf("batches %v, progress calls %d", cat.batches, progress)
	}
	sum = importString(t, cat, jsonl(1201, "连衣裙"))
	if sum.Unchanged != 1201 || sum.Created+sum.Updated != 0 {
		t.Errorf("re-run: %v", sum)
	}
	sum = importString(t, cat, jsonl(10, "半身裙"))
	if sum.Updated != 10 || sum.Unchanged != 0 {
		t.Errorf("changed titles: %v", sum)
	}
}

func TestImportMixedFile(t *testing.T) {
	src := `{"id":"a","merchant_id":"m","title":"A","price_fen":1}
{"id":"b","merchant_id":"m","title":"","price_fen":1}
{"id":"a","merchant_id":"m","title":"A2","price_fen":1}
{"id":"c","merchant_id":"m","title":"C","price_fen":-1}
`
	var rejected []int
	cat := newMemCatalog()
	sum := importString(t, cat, src, OnReject(func(e *LineError) { rejected = append(rejected, e.Line) }))
	if sum.Created != 1 || sum.Rejected != 2 || fmt.Sprint(rejected) != "[2 4]" || len(sum.FirstRejects) != 2 {
		t.Errorf("summary %v, rejected lines %v", sum, rejected)
	}
	if cat.batches[0] != 1 {
		t.Errorf("a repeated id was written twice in one batch: %v", cat.batches)
	}
	if want := (Product{ID: "a", MerchantID: "m", Title: "A2", PriceFen: 1, Status: OnShelf}); cat.hashes["a"] != want.ContentHash() {
		t.Error("the later line for a did not win")
	}
}

func TestImportWriterError(t *testing.T) {
	cat := newMemCatalog()
	cat.fail = errors.New("disk on fire")
	r, _ := NewReader(strings.NewReader(jsonl(3, "x")))
	_, err := Import(context.Background(), r, cat)
	if err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("err = %v", err)
	}
}
