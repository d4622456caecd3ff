package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tide-live/tide/commerce"
	"github.com/tide-live/tide/commerce/postgres/pgtest"
)

// benchCatalog is n products shaped like a real catalog line.
func benchCatalog(n int, version string) string {
	var b strings.Builder
	cats := []string{"女装/连衣裙", "男装/夹克", "运动鞋/跑步鞋", "家居/杯具", "美妆/口红"}
	for i := range n {
		fmt.Fprintf(&b, `{"id":"p%07d","merchant_id":"m%03d","title":"%s 商品 %d 夏季新款 %s","brand":"耐克/Nike","category":"%s","price_fen":%d,"sales":%d,"description":"舒适透气 百搭 第%d款","attrs":{"颜色":["黑色","白色","红色"],"尺码":["S","M","L"],"材质":"棉"}}`+"\n",
			i, i%200, cats[i%len(cats)], i, version, cats[i%len(cats)], 1000+i%90000, i%5000, i)
	}
	return b.String()
}

// BenchmarkImport100k imports 100,000 products (JSON Lines → validation →
// batched upsert with outbox rows) into an empty catalog, re-imports the
// same file (every line unchanged), and compares with the raw limit: COPY
// of the same rows into a bare table. Run with
//
//	go test -run '^$' -bench Import100k -benchtime 1x ./commerce/postgres/
func BenchmarkImport100k(b *testing.B) {
	const n = 100_000
	file := benchCatalog(n, "v1")
	ctx := context.Background()
	for range b.N {
		s, _ := pgtest.Store(b)
		importOnce := func(label string) time.Duration {
			start := time.Now()
			r, err := commerce.NewReader(strings.NewReader(file))
			if err != nil {
				b.Fatal(err)
			}
			sum, err := commerce.Import(ctx, r, s)
			if err != nil || sum.Rejected != 0 {
				b.Fatalf("%s: %v %v", label, sum, err)
			}
			d := time.Since(start)
			b.Logf("%s: %v: %.0f rows/s", label, sum, n/d.Seconds())
			return d
		}
		first := importOnce("first import")
		rerun := importOnce("re-run")

		// Raw limit: the same rows, already parsed, COPYed into a bare table.
		var rows [][]any
		rd, _ := commerce.NewReader(strings.NewReader(file))
		for {
			p, err := rd.Next()
			if err != nil {
				break
			}
			h := p.ContentHash()
			rows = append(rows, []any{p.ID, p.MerchantID, p.Title, p.Brand, p.Category, p.Description, `{}`, `{}`, "on", p.PriceFen, p.Sales, h[:]})
		}
		if _, err := s.Pool().Exec(ctx, `CREATE TABLE raw_products (id text PRIMARY KEY, merchant_id text, title text, brand text,
			category text, description text, images jsonb, attrs jsonb, status text, price_fen bigint, sales bigint, content_hash bytea)`); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if _, err := s.Pool().CopyFrom(ctx, pgx.Identifier{"raw_products"},
			[]string{"id", "merchant_id", "title", "brand", "category", "description", "images", "attrs", "status", "price_fen", "sales", "content_hash"},
			pgx.CopyFromRows(rows)); err != nil {
			b.Fatal(err)
		}
		raw := time.Since(start)
		b.Logf("raw COPY of parsed rows: %v: %.0f rows/s; import reaches %.0f%% of it, re-run %.0f%%",
			raw.Round(time.Millisecond), n/raw.Seconds(), 100*raw.Seconds()/first.Seconds(), 100*raw.Seconds()/rerun.Seconds())
		b.ReportMetric(n/first.Seconds(), "import_rows/s")
		b.ReportMetric(n/rerun.Seconds(), "rerun_rows/s")
		b.ReportMetric(n/raw.Seconds(), "raw_copy_rows/s")
	}
}
