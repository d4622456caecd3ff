package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/tide-live/tide/commerce"
	"github.com/tide-live/tide/commerce/democatalog"
	"github.com/tide-live/tide/commerce/postgres"
	"github.com/tide-live/tide/commerce/postgres/pgtest"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

func catalogFile(n int, title func(i int) string) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{"id":"p%05d","merchant_id":"m%02d","title":"%s","brand":"耐克/Nike","category":"运动鞋/跑步鞋","price_fen":%d,"sales":%d,"attrs":{"颜色":["黑色","白色"],"尺码":"42"}}`+"\n",
			i, i%7, title(i), 10000+i, i*3)
	}
	return b.String()
}

func importInto(t testing.TB, w commerce.ProductWriter, src string, opts ...commerce.ImportOption) commerce.Summary {
	t.Helper()
	r, err := commerce.NewReader(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := commerce.Import(context.Background(), r, w, opts...)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	return sum
}

func count(t testing.TB, s *postgres.Store, q string, args ...any) int {
	t.Helper()
	var n int
	if err := s.Pool().QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// announced is every product change in the shared outbox, in the order
// written, as "product:change".
func announced(t testing.TB, s *postgres.Store) []string {
	t.Helper()
	rows, err := s.Pool().Query(context.Background(), `SELECT payload FROM event_outbox WHERE event_type = 'product_changed' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		var payload []byte
		if err := rows.Scan(&payload); err != nil {
			t.Fatal(err)
		}
		var e tidev1.Event
		if err := proto.Unmarshal(payload, &e); err != nil {
			t.Fatal(err)
		}
		out = append(out, e.GetProductId()+":"+e.GetAttrs()["change"])
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// changesOf counts the announced changes of one kind.
func changesOf(announced []string, change string) int {
	n := 0
	for _, a := range announced {
		if strings.HasSuffix(a, ":"+change) {
			n++
		}
	}
	return n
}

func TestMigrateTwiceAndConcurrently(t *testing.T) {
	s, dsn := pgtest.Store(t)
	ctx := context.Background()
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o, err := postgres.Open(ctx, dsn)
			if err != nil {
				errs <- err
				return
			}
			defer o.Close()
			errs <- o.Migrate(ctx)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("migration files: %v %v", files, err)
	}
	if n := count(t, s, `SELECT count(*) FROM `+postgres.MigrationsTable+` WHERE version_id > 0`); n != len(files) {
		t.Errorf("%d migrations recorded, want one per file: %d", n, len(files))
	}
}

func TestImportIsIdempotentAndPublishesOnlyChanges(t *testing.T) {
	s, _ := pgtest.Store(t)
	ctx := context.Background()
	file := catalogFile(1200, func(i int) string { return fmt.Sprintf("跑步鞋 %d 号", i) })

	sum := importInto(t, s, file)
	if sum.Created != 1200 || sum.Updated != 0 || sum.Unchanged != 0 || sum.Rejected != 0 {
		t.Fatalf("first import: %v", sum)
	}
	if n := count(t, s, `SELECT count(*) FROM products`); n != 1200 {
		t.Errorf("%d products stored", n)
	}
	if n := count(t, s, `SELECT count(*) FROM merchants`); n != 7 {
		t.Errorf("%d merchants created, want 7", n)
	}
	if n := changesOf(announced(t, s), "created"); n != 1200 {
		t.Errorf("%d created changes in the outbox, want 1200", n)
	}
	var updatedAt time.Time
	s.Pool().QueryRow(ctx, `SELECT updated_at FROM products WHERE id = 'p00001'`).Scan(&updatedAt)

	sum = importInto(t, s, file)
	if sum.Unchanged != 1200 || sum.Created+sum.Updated != 0 {
		t.Errorf("re-run: %v", sum)
	}
	if n := len(announced(t, s)); n != 1200 {
		t.Errorf("re-run added outbox rows: %d", n)
	}
	var again time.Time
	s.Pool().QueryRow(ctx, `SELECT updated_at FROM products WHERE id = 'p00001'`).Scan(&again)
	if !again.Equal(updatedAt) {
		t.Errorf("re-run touched updated_at: %v → %v", updatedAt, again)
	}

	changed := catalogFile(1200, func(i int) string {
		if i%400 == 5 {
			return fmt.Sprintf("新款跑步鞋 %d 号", i)
		}
		return fmt.Sprintf("跑步鞋 %d 号", i)
	})
	sum = importInto(t, s, changed)
	if sum.Updated != 3 || sum.Unchanged != 1197 {
		t.Errorf("three titles changed: %v", sum)
	}
	var ids []string
	for _, a := range announced(t, s) {
		if id, ok := strings.CutSuffix(a, ":updated"); ok {
			ids = append(ids, id)
		}
	}
	if fmt.Sprint(ids) != "[p00005 p00405 p00805]" {
		t.Errorf("updated outbox rows %v", ids)
	}
	p, err := s.Product(ctx, "p00405")
	if err != nil || p.Title != "新款跑步鞋 405 号" || p.MerchantID != "m06" || p.PriceFen != 10405 ||
		fmt.Sprint(p.Attrs["颜色"]) != "[黑色 白色]" || p.Status != commerce.OnShelf {
		t.Errorf("p00405 = %+v, %v", p, err)
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	s, _ := pgtest.Store(t)
	importInto(t, s, catalogFile(10, func(i int) string { return "旧" }))
	sum := importInto(t, s.DryRun(), catalogFile(20, func(i int) string { return "新" }))
	if sum.Created != 10 || sum.Updated != 10 {
		t.Errorf("dry run counted %v, want 10 created 10 updated", sum)
	}
	if n := count(t, s, `SELECT count(*) FROM products`); n != 10 {
		t.Errorf("dry run stored products: %d", n)
	}
	if n := len(announced(t, s)); n != 10 {
		t.Errorf("dry run added outbox rows: %d", n)
	}
}

func TestUpdateStatusDelete(t *testing.T) {
	s, _ := pgtest.Store(t)
	ctx := context.Background()
	importInto(t, s, catalogFile(3, func(i int) string { return "鞋" }))

	changed, err := s.UpdateProduct(ctx, "p00001", func(p *commerce.Product) error {
		p.Title = "  新鞋 "
		return nil
	})
	if err != nil || !changed {
		t.Fatalf("UpdateProduct: %v %v", changed, err)
	}
	if p, _ := s.Product(ctx, "p00001"); p.Title != "新鞋" {
		t.Errorf("title %q", p.Title)
	}
	if changed, _ := s.UpdateProduct(ctx, "p00001", func(p *commerce.Product) error { return nil }); changed {
		t.Error("a no-op update reported a change")
	}
	if _, err := s.UpdateProduct(ctx, "p00001", func(p *commerce.Product) error { p.Title = ""; return nil }); err == nil {
		t.Error("an update to an empty title was accepted")
	}
	if _, err := s.UpdateProduct(ctx, "nope", func(p *commerce.Product) error { return nil }); !errors.Is(err, postgres.ErrNotFound) {
		t.Errorf("unknown id: %v", err)
	}
	if changed, err := s.SetStatus(ctx, "p00002", commerce.OffShelf); err != nil || !changed {
		t.Errorf("SetStatus: %v %v", changed, err)
	}
	if n, err := s.DeleteProducts(ctx, "p00000", "nope"); err != nil || n != 1 {
		t.Errorf("DeleteProducts: %d %v", n, err)
	}
	if _, err := s.Product(ctx, "p00000"); !errors.Is(err, postgres.ErrNotFound) {
		t.Errorf("deleted product: %v", err)
	}
	got := announced(t, s)
	if len(got) > 3 {
		got = got[3:] // after the three created by the import
	}
	if fmt.Sprint(got) != "[p00001:updated p00002:updated p00000:deleted]" {
		t.Errorf("outbox %v", got)
	}
	var on []string
	s.EachProduct(ctx, true, func(p commerce.Product) error { on = append(on, p.ID); return nil })
	if fmt.Sprint(on) != "[p00001]" {
		t.Errorf("on-shelf products %v", on)
	}
}

func TestSKUs(t *testing.T) {
	s, _ := pgtest.Store(t)
	ctx := context.Background()
	importInto(t, s, catalogFile(1, func(int) string { return "鞋" }))
	skus := []commerce.SKU{
		{ID: "p00000-42-black", Spec: map[string]string{"颜色": "黑色", "尺码": "42"}, PriceFen: 10000, Stock: 5},
		{ID: "p00000-43-white", Spec: map[string]string{"颜色": "白色", "尺码": "43"}, PriceFen: 10500, Stock: 0},
	}
	if err := s.PutSKUs(ctx, "p00000", skus); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSKUs(ctx, "p00000", skus[1:]); err != nil {
		t.Fatal(err)
	}
	got, err := s.SKUs(ctx, "p00000")
	if err != nil || len(got) != 1 || got[0].ID != "p00000-43-white" || got[0].Spec["颜色"] != "白色" || got[0].ProductID != "p00000" {
		t.Errorf("SKUs = %+v, %v", got, err)
	}
	if err := s.PutSKUs(ctx, "nope", skus); !errors.Is(err, postgres.ErrNotFound) {
		t.Errorf("SKUs of an unknown product: %v", err)
	}
	if n := len(announced(t, s)); n != 1 {
		t.Errorf("SKU changes published product changes: %d outbox rows", n)
	}
}

func TestConcurrentImportsOfOverlappingFiles(t *testing.T) {
	s, _ := pgtest.Store(t)
	var wg sync.WaitGroup
	sums := make([]commerce.Summary, 4)
	for k := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sums[k] = importInto(t, s, catalogFile(800, func(i int) string { return fmt.Sprintf("鞋 %d", i) }), commerce.BatchSize(100))
		}()
	}
	wg.Wait()
	created := 0
	for _, sum := range sums {
		created += sum.Created
		if sum.Updated != 0 {
			t.Errorf("identical content counted as updated: %v", sum)
		}
	}
	if created != 800 {
		t.Errorf("created %d in total, want 800", created)
	}
	if n := len(announced(t, s)); n != 800 {
		t.Errorf("%d outbox rows, want 800", n)
	}
}

func TestImportDemoCatalogTwice(t *testing.T) {
	s, _ := pgtest.Store(t)
	ctx := context.Background()
	data := string(democatalog.JSONL())
	first := importInto(t, s, data)
	if first.Rejected != 0 || first.Created < 1000 {
		t.Fatalf("demo catalog: %v", first)
	}
	again := importInto(t, s, data)
	if again.Unchanged != first.Created || again.Created+again.Updated != 0 {
		t.Errorf("re-run of the demo catalog: %v", again)
	}
	p, err := s.Product(ctx, "p00001")
	if err != nil || p.ListedAt.Format(time.RFC3339) != "2025-01-11T14:00:00Z" || len(p.Attrs["颜色"]) != 3 {
		t.Errorf("p00001 = %+v, %v", p, err)
	}
}
