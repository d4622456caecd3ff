package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tide-live/tide/commerce/democatalog"
	"github.com/tide-live/tide/ingest"
	"github.com/tide-live/tide/live/livesim"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/proto/tide/v1/tidev1connect"
	"github.com/tide-live/tide/serving"
	"github.com/tide-live/tide/serving/auth"
)

// runDemo is `tide demo`: the server and the ingester in one process, on an
// embedded Kafka unless TIDE_KAFKA_BROKERS names one, and simulated viewers
// sending their events through the real Track RPC (JSON, as the
// mini-program does) into ClickHouse.
func runDemo(ctx context.Context, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("tide demo", flag.ContinueOnError)
	duration := fs.Duration("duration", 60*time.Second, "how long to send simulated traffic")
	rate := fs.Float64("rate", 2000, "simulated events per second")
	batch := fs.Int("batch", 200, "events per Track call")
	users := fs.Int("users", 0, "simulated users (0: enough for the rate)")
	seed := fs.Int64("seed", 0, "simulation seed (0: from the clock)")
	addr := fs.String("addr", serveEnv("TIDE_HTTP_ADDR", "127.0.0.1:8080"), "listen address (env TIDE_HTTP_ADDR)")
	chAddr := fs.String("clickhouse", serveEnv("TIDE_CLICKHOUSE_ADDR", "127.0.0.1:19000"), "ClickHouse native address (env TIDE_CLICKHOUSE_ADDR)")
	db := fs.String("database", "tide_demo", "ClickHouse database of the demo")
	dataDir := fs.String("data", ".tide/demo", "where the embedded Kafka keeps its log")
	keep := fs.Bool("keep", true, "keep serving and ingesting after the traffic, until interrupted (-keep=false: exit)")
	loopOn := fs.Bool("loop", true, "after the traffic, run the closed-loop A/B test of the room feed (see demo_loop.go)")
	loopUsers := fs.Int("loop-users", 2000, "simulated users of the closed loop")
	loopRounds := fs.Int("loop-rounds", 10, "feed requests per user of the closed loop")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if os.Getenv("TIDE_LOG_LEVEL") == "" { // the progress lines are the demo's output
		log = slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if *seed == 0 {
		*seed = time.Now().UnixNano()
	}
	if *users == 0 {
		*users = max(10_000, int(*rate*25))
	}

	brokers, topic, closeKafka, err := demoKafka(*dataDir)
	if err != nil {
		return err
	}
	defer closeKafka()
	// the simulator's traffic goes through the real, authenticated Track RPC
	// with an admin key made for this run
	demoKey, err := auth.NewAPIKey()
	if err != nil {
		return err
	}
	merchantKeys, err := demoMerchantKeys() // demo_dashboard.go: sign-in keys for the dashboard
	if err != nil {
		return err
	}
	tokens, err := demoSessionKeys() // demo_commerce.go: with TIDE_POSTGRES_URL, the simulated users buy through CommerceService
	if err != nil {
		return err
	}
	srv, closeProducer, err := newServer(ctx, log, serveConfig{addr: *addr, brokers: brokers, topic: topic,
		partitions: ingest.DefaultPartitions, pyroscope: os.Getenv("TIDE_PYROSCOPE_ADDR"),
		adminKeys: demoBuiltinKeys(demoKey, merchantKeys), reportAddr: *chAddr, reportDB: *db,
		rateExempt: "127.0.0.0/8,::1/128"}) // the simulator sends thousands of events/s from this host
	if err != nil {
		return err
	}
	defer closeProducer()
	ing, err := ingest.New(ctx, ingest.WithBrokers(brokers...), ingest.WithTopic(topic),
		ingest.WithDeadLetterTopic(topic+".dlq"), ingest.WithGroup("tide-demo"),
		ingest.WithClickHouse(*chAddr, *db), ingest.WithRegisterer(srv.Registry()), ingest.WithLogger(log))
	if err != nil {
		return fmt.Errorf("ingest (is ClickHouse up? make services): %w", err)
	}
	defer ing.Close()
	ch, err := ingest.OpenClickHouse(ctx, *chAddr)
	if err != nil {
		return err
	}
	defer ch.Close()
	baseline, err := demoRows(ctx, ch, *db)
	if err != nil {
		return err
	}

	ln, err := serveListen(*addr)
	if err != nil {
		return err
	}
	// The server and the ingester outlive the traffic: they stop when run ends.
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := srv.Serve(runCtx, ln); err != nil {
			log.Error("serve", "err", err)
		}
	})
	wg.Go(func() {
		if err := ing.Run(runCtx); err != nil && !errors.Is(err, context.Canceled) {
			log.Error("ingest", "err", err)
		}
	})
	defer wg.Wait()
	defer stop()
	base := "http://" + ln.Addr().String()
	if err := demoReady(ctx, base); err != nil {
		return err
	}

	catalog, err := demoCatalog()
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "tide demo: serving on %s, Kafka %v topic %s, ClickHouse %s database %s\n", base, brokers, topic, *chAddr, *db)
	fmt.Fprintf(os.Stderr, "tide demo: %d simulated users, %d products, %.0f events/s for %s, batches of %d over Track (JSON)\n",
		*users, len(catalog), *rate, *duration, *batch)
	sim := livesim.New(livesim.WithSeed(*seed), livesim.WithUsers(*users), livesim.WithProducts(catalog))
	platform, err := serving.NewProducer(brokers)
	if err != nil {
		return err
	}
	defer platform.Close()
	tr := &demoTraffic{client: tidev1connect.NewEventServiceClient(&http.Client{Timeout: 30 * time.Second}, base,
		connect.WithProtoJSON(), connect.WithInterceptors(bearer(demoKey))), log: log, platform: platform, topic: topic}
	dl, err := openDemoLive(ctx, log, sim) // demo_live.go: with TIDE_POSTGRES_URL, rooms, 预告 and stream start/end through the registry
	if err != nil {
		return err
	}
	if dl != nil {
		defer dl.close()
		tr.divert = dl.divert
	}
	dc, err := openDemoCommerce(ctx, log, base, tokens, merchantKeys, catalog)
	if err != nil {
		return err
	}
	if dc != nil {
		defer dc.close()
		tr.divert = demoDiverts(tr.divert, dc.divert)
	}
	var lp *demoLoop
	if *loopOn {
		if lp, err = startDemoLoop(runCtx, log, brokers, topic, sim); err != nil {
			return err
		}
	}
	rows := func() int64 {
		n, err := demoRows(ctx, ch, *db)
		if err != nil {
			return -1
		}
		return n - baseline
	}
	start := time.Now()
	progressDone := make(chan struct{})
	trafficCtx, endTraffic := context.WithTimeout(ctx, *duration)
	defer endTraffic()
	go func() {
		defer close(progressDone)
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-trafficCtx.Done():
				return
			case <-t.C:
				tr.print(time.Since(start), rows())
			}
		}
	}()
	err = tr.run(trafficCtx, ctx, sim, *rate, *batch)
	<-progressDone
	tr.print(time.Since(start), rows())
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}

	// Let the ingester catch up with what Track accepted.
	want := tr.accepted.Load()
	deadline := time.Now().Add(60 * time.Second)
	for n := rows(); n < want && time.Now().Before(deadline) && ctx.Err() == nil; n = rows() {
		time.Sleep(500 * time.Millisecond)
	}
	tr.print(time.Since(start), rows())
	if lp != nil {
		if err := lp.run(ctx, sim, tr, *loopUsers, *loopRounds, *seed); err != nil {
			return err
		}
	}
	demoHowTo(*chAddr, *db, base, *keep)
	demoDashboardHowTo(ctx, ch, *db, base, merchantKeys)
	if *keep {
		fmt.Fprintln(os.Stderr, "tide demo: still serving and ingesting; Ctrl-C to stop")
		<-ctx.Done()
	}
	return nil
}

// demoKafka is the Kafka of the demo: TIDE_KAFKA_BROKERS when set, else an
// embedded kfake broker persisting its log under dataDir/kafka. A fresh log
// gets a fresh topic name, since the ingester resumes after the offsets
// ClickHouse holds for a topic.
func demoKafka(dataDir string) (brokers []string, topic string, closeFn func(), err error) {
	if b := os.Getenv("TIDE_KAFKA_BROKERS"); b != "" {
		return strings.Split(b, ","), ingest.DefaultEventsTopic, func() {}, nil
	}
	dir := filepath.Join(dataDir, "kafka")
	topicFile := filepath.Join(dataDir, "kafka-topic")
	_, statErr := os.Stat(dir)
	name, readErr := os.ReadFile(topicFile)
	topic = strings.TrimSpace(string(name))
	if statErr != nil || readErr != nil || topic == "" {
		topic = fmt.Sprintf("tide.demo.%d", time.Now().Unix())
		if err := os.MkdirAll(dataDir, 0o755); err != nil {
			return nil, "", nil, fmt.Errorf("demo data: %w", err)
		}
		if err := os.WriteFile(topicFile, []byte(topic+"\n"), 0o644); err != nil {
			return nil, "", nil, fmt.Errorf("demo data: %w", err)
		}
	}
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DataDir(dir), kfake.DefaultNumPartitions(ingest.DefaultPartitions))
	if err != nil {
		return nil, "", nil, fmt.Errorf("embedded kafka in %s: %w", dir, err)
	}
	return cluster.ListenAddrs(), topic, cluster.Close, nil
}

// demoCatalog reads the demo catalog's products for the simulation.
func demoCatalog() ([]livesim.Product, error) {
	var out []livesim.Product
	sc := bufio.NewScanner(democatalog.Open())
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var p struct {
			ID         string `json:"id"`
			MerchantID string `json:"merchant_id"`
			Title      string `json:"title"`
			Category   string `json:"category"`
			PriceFen   int64  `json:"price_fen"`
		}
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			return nil, fmt.Errorf("demo catalog: %w", err)
		}
		out = append(out, livesim.Product{ID: p.ID, MerchantID: p.MerchantID, Category: p.Category, PriceFen: p.PriceFen, Title: p.Title})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("demo catalog: %w", err)
	}
	return out, nil
}

func demoRows(ctx context.Context, ch driver.Conn, db string) (int64, error) {
	var n uint64
	if err := ch.QueryRow(ctx, "SELECT count() FROM "+db+".events").Scan(&n); err != nil {
		return 0, fmt.Errorf("count rows: %w", err)
	}
	return int64(n), nil
}

// demoReady waits for /readyz: up to two minutes, since building the search
// index (its dictionaries, then the catalog) took 36s for an empty catalog
// on a busy machine.
func demoReady(ctx context.Context, base string) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(body))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("server not ready: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// demoTraffic sends the simulation's batches over Track from a few
// connections, retrying a batch the server could not store. The simulated
// platform's own facts (streams, orders, gifts, exposures), which Track
// refuses from any caller, go straight to the events topic as the server's
// records; with TIDE_POSTGRES_URL, streams go through the room registry
// (demo_live.go) and orders through CommerceService (demo_commerce.go)
// instead, and reach the topic through the server's outbox relay.
type demoTraffic struct {
	client                           tidev1connect.EventServiceClient
	log                              *slog.Logger
	platform                         *kgo.Client
	topic                            string
	sent, accepted, rejected, failed atomic.Int64
	reported                         atomic.Bool
	divert                           func(context.Context, []*tidev1.Event) []*tidev1.Event // takes the events Track must not carry
	lastSent                         int64
	lastAt                           time.Duration
}

// run drives the simulation until trafficCtx ends; Track calls in flight
// then finish under ctx.
func (d *demoTraffic) run(trafficCtx, ctx context.Context, sim *livesim.Sim, rate float64, batch int) error {
	jobs := make(chan []*tidev1.Event, 8)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for b := range jobs {
				d.send(ctx, b)
			}
		})
	}
	err := sim.Run(trafficCtx, rate, batch, func(c context.Context, b []*tidev1.Event) error {
		if d.divert != nil {
			if b = d.divert(c, b); len(b) == 0 {
				return nil
			}
		}
		select {
		case jobs <- b:
			return nil
		case <-c.Done():
			return c.Err()
		}
	})
	close(jobs)
	wg.Wait()
	return err
}

func (d *demoTraffic) send(ctx context.Context, b []*tidev1.Event) {
	d.sent.Add(int64(len(b)))
	if b = d.sendPlatform(ctx, b); len(b) == 0 {
		return
	}
	req := &tidev1.TrackRequest{Events: b}
	for attempt := 1; ; attempt++ {
		res, err := d.client.Track(ctx, connect.NewRequest(req))
		if err == nil {
			d.accepted.Add(int64(res.Msg.GetAccepted()))
			return
		}
		code := connect.CodeOf(err)
		if (code == connect.CodeUnavailable || code == connect.CodeDeadlineExceeded) && attempt < 5 && ctx.Err() == nil {
			time.Sleep(time.Duration(attempt*attempt) * 100 * time.Millisecond)
			continue
		}
		if code == connect.CodeInvalidArgument || code == connect.CodeResourceExhausted {
			d.rejected.Add(int64(len(b)))
		} else {
			d.failed.Add(int64(len(b)))
		}
		if !d.reported.Swap(true) {
			fmt.Fprintf(os.Stderr, "tide demo: a batch of %d was not accepted: %v\n", len(b), err)
		}
		return
	}
}

// sendPlatform produces b's server-only events as the server and returns
// the others, for Track.
func (d *demoTraffic) sendPlatform(ctx context.Context, b []*tidev1.Event) []*tidev1.Event {
	var recs []*kgo.Record
	client := b[:0:0]
	now := time.Now().UnixMilli()
	for _, e := range b {
		if !ingest.ServerOnly(e.GetType()) {
			client = append(client, e)
			continue
		}
		e.ReceivedAt = now
		r, err := ingest.ServerRecord(d.topic, e)
		if err != nil {
			d.failed.Add(1)
			continue
		}
		recs = append(recs, r)
	}
	if len(recs) == 0 {
		return client
	}
	if err := d.platform.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		d.failed.Add(int64(len(recs)))
		if !d.reported.Swap(true) {
			fmt.Fprintf(os.Stderr, "tide demo: %d platform events not produced: %v\n", len(recs), err)
		}
		return client
	}
	d.accepted.Add(int64(len(recs)))
	return client
}

func (d *demoTraffic) print(at time.Duration, rows int64) {
	sent := d.sent.Load()
	eps := float64(sent-d.lastSent) / max((at-d.lastAt).Seconds(), 1e-3)
	d.lastSent, d.lastAt = sent, at
	ch := fmt.Sprint(rows)
	if rows < 0 {
		ch = "?"
	}
	fmt.Fprintf(os.Stderr, "tide demo: %5.1fs  sent %d  accepted %d  rejected %d  failed %d  rows in ClickHouse %s  (%.0f events/s)\n",
		at.Seconds(), sent, d.accepted.Load(), d.rejected.Load(), d.failed.Load(), ch, eps)
}

// demoHowTo prints what to look at next.
func demoHowTo(chAddr, db, base string, serving bool) {
	port := chAddr[strings.LastIndex(chAddr, ":")+1:]
	q := func(sql string) string {
		return fmt.Sprintf("  clickhouse-client --port %s -d %s -q %q\n", port, db, sql)
	}
	fmt.Print("\nThe events are in ClickHouse. Try:\n",
		q("SELECT type, count() AS events FROM events GROUP BY type ORDER BY events DESC"),
		q("SELECT room_id, uniqExact(user_id) AS viewers, sumIf(value, type = 'order_paid') / 100 AS gmv_yuan FROM events GROUP BY room_id ORDER BY gmv_yuan DESC LIMIT 10"),
		q("SELECT text, count() AS n FROM events WHERE type = 'chat' GROUP BY text ORDER BY n DESC LIMIT 10"),
		q("SELECT room_id, round(avg(value) / 1000) AS avg_dwell_s, count() AS visits FROM events WHERE type = 'room_leave' GROUP BY room_id ORDER BY visits DESC LIMIT 10"),
		q("SELECT toStartOfMinute(time) AS minute, count() FROM events GROUP BY minute ORDER BY minute"))
	if serving {
		fmt.Printf("\nTrack and metrics are still up: curl -s %s/metrics | grep tide_\n", base)
	}
}

// bearer sends key as the Authorization of every call.
func bearer(key string) connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			req.Header().Set("Authorization", "Bearer "+key)
			return next(ctx, req)
		}
	}
}
