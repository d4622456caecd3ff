package postgres_test

import (
	"context"
	"testing"

	"github.com/tide-live/tide/commerce"
	"github.com/tide-live/tide/commerce/postgres/pgtest"
)

func TestProductPricesIncludeOffShelf(t *testing.T) {
	s, _ := pgtest.Store(t)
	importInto(t, s, catalogFile(3, func(i int) string { return "鞋" }))
	if _, err := s.SetStatus(context.Background(), "p00001", commerce.OffShelf); err != nil {
		t.Fatal(err)
	}
	got, err := s.ProductPrices(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"p00000": 10000, "p00001": 10001, "p00002": 10002}
	if len(got) != len(want) {
		t.Fatalf("prices %v, want %v", got, want)
	}
	for id, fen := range want {
		if got[id] != fen {
			t.Errorf("price of %s = %d, want %d", id, got[id], fen)
		}
	}
}
