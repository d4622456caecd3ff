package main

import (
	"context"
	"log/slog"
	"testing"

	"github.com/tide-live/tide/commerce"
	"github.com/tide-live/tide/commerce/democatalog"
	"github.com/tide-live/tide/commerce/postgres/pgtest"
	"github.com/tide-live/tide/search"
)

func TestCatalogPricesFromTheEmbeddedCatalogue(t *testing.T) {
	t.Setenv("TIDE_POSTGRES_URL", "")
	ps, err := search.ReadProducts(democatalog.Open())
	if err != nil {
		t.Fatal(err)
	}
	c := &catalogPrices{log: slog.New(slog.DiscardHandler)}
	if _, ok := c.price(ps[0].ID); ok {
		t.Fatal("a price before the first read")
	}
	c.refresh(context.Background())
	for _, p := range []search.Product{ps[0], ps[len(ps)/2], ps[len(ps)-1]} {
		if fen, ok := c.price(p.ID); !ok || fen != p.PriceFen {
			t.Errorf("price of %s = %d, %v; want %d", p.ID, fen, ok, p.PriceFen)
		}
	}
	if _, ok := c.price("no-such-product"); ok {
		t.Error("a price for an unknown product")
	}
}

func TestCatalogPricesFromPostgresFollowChanges(t *testing.T) {
	s, dsn := pgtest.Store(t)
	t.Setenv("TIDE_POSTGRES_URL", dsn)
	ctx := context.Background()
	put := func(fen int64) {
		t.Helper()
		p := commerce.Product{ID: "p1", MerchantID: "m1", Title: "跑步鞋", Category: "运动鞋", PriceFen: fen, Status: commerce.OnShelf}
		if _, err := s.WriteProducts(ctx, []commerce.Product{p}); err != nil {
			t.Fatal(err)
		}
	}
	put(19900)
	c := &catalogPrices{log: slog.New(slog.DiscardHandler)}
	c.refresh(ctx)
	if fen, ok := c.price("p1"); !ok || fen != 19900 {
		t.Fatalf("price = %d, %v; want 19900", fen, ok)
	}
	put(9900)
	c.refresh(ctx)
	if fen, _ := c.price("p1"); fen != 9900 {
		t.Fatalf("price after the change = %d, want 9900", fen)
	}
	t.Setenv("TIDE_POSTGRES_URL", "postgres://tide@127.0.0.1:1/none?sslmode=disable&connect_timeout=1")
	c.refresh(ctx) // fails: the last prices stay
	if fen, _ := c.price("p1"); fen != 9900 {
		t.Fatalf("price after a failed read = %d, want the last (9900)", fen)
	}
}
