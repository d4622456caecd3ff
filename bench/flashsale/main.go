// Command flashsale measures a flash sale (秒杀) on one hot SKU against the
// raw limit of PostgreSQL, side by side in one run, in interleaved rounds:
//
//   - rpc: C concurrent buyers submit flash-sale orders through
//     CommerceService (Connect, binary protobuf over loopback HTTP/1.1; the
//     caller is named in a header in place of the auth interceptor) until
//     the allotment is gone — each order is priced, written with its lines,
//     transitions, timer and ORDER_CREATED outbox event, and holds its unit
//     (commerce/postgres writes the concurrent submits of one sale in
//     batches, one transaction each);
//   - seller: the same holds straight through commerce/postgres's
//     FlashSeller.Reserve, one pipelined transaction each, without order
//     rows;
//   - tx: the holds as an interactive transaction (BEGIN, buyer row, hold
//     row, conditional UPDATE, COMMIT), the design FlashSeller was measured
//     against;
//   - raw: C connections run `UPDATE … SET stock = stock - 1 WHERE stock > 0`
//     on one row until it reaches zero.
//
// Each round creates a fresh sale of -units units; the rate is units over
// the time to sell out. oversold counts units held beyond the allotments
// and any negative remaining, over all rounds. The last line is
//
//	orders_per_s=<int> raw_update_per_s=<int> ratio=<float> oversold=<int>
//
// with medians over the rounds (orders_per_s is the rpc rate; ratio =
// orders_per_s / raw_update_per_s).
// Target: oversold=0, ratio ≥ 0.5.
//
//	go run ./bench/flashsale                       # C=32, 5 rounds of 3000 units
//	go run ./bench/flashsale -c 64 -rounds 3 -units 1000
//	go run ./bench/flashsale -cpuprofile cpu.out   # where this process's time goes
//	go run ./bench/flashsale -v -phases rpc,raw    # CPU per unit (this process, PostgreSQL), batch sizes
//	go run ./bench/flashsale -v -separate-buyers   # the server's CPU apart from its buyers'
//	go run ./bench/flashsale -v -gc runtime        # Go's default GC target instead of tide serve's
//
// The process runs with the GC target tide serve sets (serving/gctarget:
// GOGC 200 unless GOGC is set, TIDE_MEMORY_LIMIT) unless -gc runtime.
//
// -v reads PostgreSQL's CPU from /proc (the postgres processes of this
// machine): it is meaningful when the server runs here, as in the bench's
// setup, and includes whatever else that server does meanwhile.
//
// -separate-buyers runs the rpc phase's buyers (phones, not the server) in
// a process of their own, so that -v shows the server's CPU per order
// apart from theirs. Both processes then share the machine's cores with
// PostgreSQL, and two Go runtimes cost more CPU in all than one: on the
// 2-core bench machine it sold at a lower ratio (about 0.34 against 0.45
// in one process, interleaved), so it is not the default.
//
// It creates a database of its own on -postgres (TIDE_POSTGRES_URL) and
// drops it at the end.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tide-live/tide/commerce"
	"github.com/tide-live/tide/commerce/postgres"
	"github.com/tide-live/tide/ingest/outbox"
	"github.com/tide-live/tide/serving/gctarget"
)

const targetRatio = 0.5

func main() {
	pgURL := flag.String("postgres", envOr("TIDE_POSTGRES_URL", "postgres://tide@127.0.0.1:15432/tide?sslmode=disable"), "PostgreSQL server to create the bench database on")
	c := flag.Int("c", 32, "concurrent buyers (and connections)")
	units := flag.Int64("units", 3000, "allotment of each round's sale")
	rounds := flag.Int("rounds", 5, "interleaved rounds")
	cpuProfile := flag.String("cpuprofile", "", "write this process's CPU profile (server and clients) to this file")
	phaseList := flag.String("phases", "rpc,seller,tx,raw", "the phases to run each round (the last line needs rpc and raw)")
	separate := flag.Bool("separate-buyers", false, "run the rpc phase's buyers in a process of their own (default: in this one, beside the server)")
	buyersProcess := flag.Bool("buyers-process", false, "be the buyers' process (the bench starts it)")
	verbose := flag.Bool("v", false, "print each phase's CPU use (this process's and PostgreSQL's) and the rpc batch sizes")
	gc := flag.String("gc", "serve", "the GC target: serve (what tide serve sets, serving/gctarget) or runtime (Go's default, or GOGC/GOMEMLIMIT)")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "flashsale:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *buyersProcess {
		// The buyers' process keeps the runtime's GC: only the server's
		// side runs as tide serve does.
		if err := serveBuyers(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "flashsale:", err)
			os.Exit(1)
		}
		return
	}
	switch *gc {
	case "serve":
		if _, err := gctarget.ApplyEnv(os.Getenv); err != nil {
			fmt.Fprintln(os.Stderr, "flashsale:", err)
			os.Exit(1)
		}
	case "runtime":
	default:
		fmt.Fprintf(os.Stderr, "flashsale: -gc %q: want serve or runtime\n", *gc)
		os.Exit(2)
	}
	only := map[string]bool{}
	for _, p := range strings.Split(*phaseList, ",") {
		only[strings.TrimSpace(p)] = true
	}
	if err := run(ctx, *pgURL, *c, *units, *rounds, only, *verbose, *separate); err != nil {
		fmt.Fprintln(os.Stderr, "flashsale:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func run(ctx context.Context, admin string, c int, units int64, rounds int, only map[string]bool, verbose, separate bool) error {
	dsn, drop, err := createDatabase(ctx, admin)
	if err != nil {
		return err
	}
	defer drop()
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return err
	}
	cfg.MaxConns = int32(c)
	cfg.MinConns = int32(c)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	store := postgres.New(pool, postgres.WithLogger(slog.New(slog.DiscardHandler)))
	if err := store.Migrate(ctx); err != nil {
		return err
	}
	if err := setUp(ctx, store, units*int64(rounds)*4); err != nil {
		return err
	}
	if err := outbox.Migrate(ctx, pool, slog.New(slog.DiscardHandler)); err != nil {
		return err
	}
	seller := store.NewFlashSeller()
	batches := newHistogram()
	url, stopRPC := serveCommerce(store, seller, batches.observe)
	defer stopRPC()
	client := commerceClient(url, c)
	var phones *buyers
	if separate {
		if phones, err = startBuyers(ctx); err != nil {
			return err
		}
		defer phones.close()
	}

	type phase struct {
		name  string
		buy   func(sale string, u int64) error
		reset func(sale string) error
		// sell, when set, sells the sale out in place of c callers of buy
		sell  func(sale string) (float64, error)
		rates []float64
	}
	newSale := func(sale string) error { return store.CreateFlashSale(ctx, flashSale(sale, units)) }
	phases := []*phase{
		{name: "rpc", buy: func(sale string, u int64) error { return submit(ctx, client, sale, u) }, reset: newSale},
		{name: "seller", buy: func(sale string, u int64) error {
			_, err := seller.Reserve(ctx, commerce.Hold{OrderID: fmt.Sprintf("%s-%d", sale, u), UserID: fmt.Sprintf("u%d", u), FlashSaleID: sale, Quantity: 1}, nil)
			return err
		}, reset: newSale},
		{name: "tx", buy: func(sale string, u int64) error { return interactive(ctx, pool, sale, u) }, reset: newSale},
		{name: "raw", buy: func(string, int64) error {
			tag, err := pool.Exec(ctx, `UPDATE raw_stock SET stock = stock - 1 WHERE id = 1 AND stock > 0`)
			if err == nil && tag.RowsAffected() == 0 {
				return commerce.ErrSoldOut
			}
			return err
		}, reset: func(string) error {
			_, err := pool.Exec(ctx, `UPDATE raw_stock SET stock = $1 WHERE id = 1`, units)
			return err
		}},
	}
	if phones != nil {
		phases[0].sell = func(sale string) (float64, error) {
			return phones.round(buyRound{URL: url, Sale: sale, C: c, Units: units})
		}
	}
	byName := map[string]*phase{}
	for _, p := range phases {
		byName[p.name] = p
	}
	for r := range rounds {
		line := fmt.Sprintf("round %d/%d:", r+1, rounds)
		for _, p := range phases {
			if !only[p.name] {
				continue
			}
			sale := fmt.Sprintf("%s%d", p.name, r)
			before := sampleCPU(phones)
			var rate float64
			if p.sell != nil {
				if err = p.reset(sale); err == nil {
					rate, err = p.sell(sale)
				}
			} else {
				rate, err = sellOut(ctx, c, units, func(u int64) error { return p.buy(sale, u) }, func() error { return p.reset(sale) })
			}
			if err != nil {
				return fmt.Errorf("round %d %s: %w", r, p.name, err)
			}
			if verbose {
				fmt.Printf("  %s %.0f/s: %s\n", p.name, rate, cpuUse(before, sampleCPU(phones), units))
				if p.name == "rpc" {
					fmt.Printf("  rpc batches: %s\n", batches.take())
				}
			}
			p.rates = append(p.rates, rate)
			line += fmt.Sprintf("  %s %.0f/s", p.name, rate)
		}
		fmt.Println(line)
	}
	oversold, err := oversold(ctx, pool, units)
	if err != nil {
		return err
	}
	mq, ms, mt, mr := median(byName["rpc"].rates), median(byName["seller"].rates), median(byName["tx"].rates), median(byName["raw"].rates)
	fmt.Printf("c=%d units=%d rounds=%d medians: seller %.0f/s (ratio %.2f), interactive tx %.0f/s (ratio %.2f); target ratio %.2f, oversold 0\n",
		c, units, rounds, ms, ms/mr, mt, mt/mr, targetRatio)
	fmt.Printf("orders_per_s=%d raw_update_per_s=%d ratio=%.2f oversold=%d\n", int64(mq), int64(mr), mq/mr, oversold)
	return nil
}

func flashSale(id string, units int64) commerce.FlashSale {
	now := time.Now()
	return commerce.FlashSale{ID: id, MerchantID: "bench", SKUID: "hot", PriceFen: 100, StartsAt: now.Add(-time.Minute), EndsAt: now.Add(time.Hour), Allotment: units, PerUserLimit: 1}
}

// sellOut resets the stock with reset, then runs c workers calling buy
// with fresh buyer numbers until every worker has seen sold out, and
// returns units per second.
func sellOut(ctx context.Context, c int, units int64, buy func(int64) error, reset func() error) (float64, error) {
	if err := reset(); err != nil {
		return 0, err
	}
	var (
		next  atomic.Int64
		sold  atomic.Int64
		wg    sync.WaitGroup
		first error
		once  sync.Once
	)
	start := time.Now()
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				err := buy(next.Add(1))
				if errors.Is(err, commerce.ErrSoldOut) {
					return
				}
				if err != nil {
					once.Do(func() { first = err })
					return
				}
				sold.Add(1)
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	if first != nil {
		return 0, first
	}
	if sold.Load() != units {
		return 0, fmt.Errorf("sold %d of %d units", sold.Load(), units)
	}
	return float64(units) / el.Seconds(), nil
}

// interactive is the design FlashSeller is compared with: the same rows as
// one interactive transaction, the hot row locked across the COMMIT round
// trip.
func interactive(ctx context.Context, pool *pgxpool.Pool, sale string, u int64) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		user, order := fmt.Sprintf("u%d", u), fmt.Sprintf("%s-%d", sale, u)
		if _, err := tx.Exec(ctx, `INSERT INTO flash_sale_buyers (sale_id, user_id, quantity, per_user_limit) VALUES ($1, $2, 1, 1)`, sale, user); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO stock_reservations (order_id, sku_id, flash_sale_id, user_id, quantity) VALUES ($1, 'hot', $2, $3, 1)`, order, sale, user); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE flash_sales SET remaining = remaining - 1 WHERE id = $1 AND remaining >= 1`, sale)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return commerce.ErrSoldOut
		}
		return nil
	})
}

func setUp(ctx context.Context, store *postgres.Store, stock int64) error {
	pool := store.Pool()
	if err := store.PutMerchant(ctx, commerce.Merchant{ID: "bench", Name: "bench"}); err != nil {
		return err
	}
	if _, err := store.WriteProducts(ctx, []commerce.Product{{ID: "hot", MerchantID: "bench", Title: "秒杀爆品", Status: commerce.OnShelf, PriceFen: 100}}); err != nil {
		return err
	}
	if err := store.PutSKUs(ctx, "hot", []commerce.SKU{{ID: "hot", PriceFen: 100, Stock: stock}}); err != nil {
		return err
	}
	_, err := pool.Exec(ctx, `CREATE TABLE raw_stock (id int PRIMARY KEY, stock bigint NOT NULL); INSERT INTO raw_stock VALUES (1, 0)`)
	return err
}

// oversold counts units held beyond any sale's allotment, and negative
// remaining.
func oversold(ctx context.Context, pool *pgxpool.Pool, units int64) (int64, error) {
	var n int64
	err := pool.QueryRow(ctx, `
		SELECT coalesce(sum(greatest(h.held - f.allotment, 0)), 0) + coalesce(sum(greatest(-f.remaining, 0)), 0)
		FROM flash_sales f
		LEFT JOIN (SELECT flash_sale_id, sum(quantity) AS held FROM stock_reservations GROUP BY flash_sale_id) h ON h.flash_sale_id = f.id`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count oversold: %w", err)
	}
	var raw int64
	if err := pool.QueryRow(ctx, `SELECT least(stock, 0) FROM raw_stock WHERE id = 1`).Scan(&raw); err != nil {
		return 0, err
	}
	return n - raw, nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// createDatabase creates flashsale_bench_<random> on the server of admin
// and returns its URL and a function that drops it.
func createDatabase(ctx context.Context, admin string) (string, func(), error) {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", nil, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := "flashsale_bench_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("create database: %w", err)
	}
	u, err := url.Parse(admin)
	if err != nil {
		return "", nil, err
	}
	u.Path = "/" + name
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			fmt.Fprintln(os.Stderr, "drop database:", err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			fmt.Fprintln(os.Stderr, "drop database:", err)
		}
	}
	return u.String(), drop, nil
}
