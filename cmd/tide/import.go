package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/tide-live/tide/commerce"
	"github.com/tide-live/tide/commerce/postgres"
	"github.com/tide-live/tide/ingest"
	"github.com/tide-live/tide/ingest/outbox"
)

// maxPrintedRejects bounds the rejected lines printed one by one.
const maxPrintedRejects = 1000

// errRejected is returned (wrapped) when an import skipped lines, so that
// `tide import` exits non-zero.
var errRejected = errors.New("rejected")

// runImport is `tide import KIND FILE`.
func runImport(ctx context.Context, log *slog.Logger, args []string) error {
	if len(args) == 0 || args[0] != "products" {
		return fmt.Errorf("usage: tide import products [flags] FILE")
	}
	return importProducts(ctx, log, args[1:], os.Stdout, os.Stderr)
}

// catalogEnv is the environment variable key, or def when unset.
func catalogEnv(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// importProducts is `tide import products`: read a JSON Lines or CSV file,
// upsert the valid products into PostgreSQL in batches (each with its outbox
// rows), report every rejected line as FILE:LINE: reason, print a summary,
// then publish the recorded product changes to Kafka (draining the outbox) so
// search replicas pick them up. Rejected lines make it fail after the rest
// was imported.
func importProducts(ctx context.Context, log *slog.Logger, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tide import products", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pgURL := fs.String("postgres", catalogEnv("TIDE_POSTGRES_URL", "postgres://tide@127.0.0.1:15432/tide?sslmode=disable"), "PostgreSQL URL of the catalog")
	brokers := fs.String("brokers", catalogEnv("TIDE_KAFKA_BROKERS", "127.0.0.1:19092"), "Kafka seed brokers, comma-separated, for product-changed events")
	topic := fs.String("topic", ingest.DefaultEventsTopic, "events topic")
	merchant := fs.String("merchant", "", "merchant of every product: fills a missing merchant_id, rejects lines naming another")
	dryRun := fs.Bool("dry-run", false, "validate and count what would change, then roll back")
	format := fs.String("format", "auto", "auto (by extension, else first byte), jsonl or csv")
	batch := fs.Int("batch", 500, "products per transaction")
	ignoreUnknown := fs.Bool("ignore-unknown", false, "skip unknown JSON fields and CSV columns instead of rejecting them")
	noPublish := fs.Bool("no-publish", false, "leave the product changes in the outbox for a running relay (tide serve)")
	publishTimeout := fs.Duration("publish-timeout", time.Minute, "how long to try publishing product changes")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tide import products [flags] FILE|-")
		fmt.Fprintln(stderr, "\nJSON Lines, one product per line:")
		fmt.Fprintln(stderr, `  {"id":"p00001","merchant_id":"m01","title":"…","brand":"耐克/Nike","category":"女装/连衣裙","price_fen":29900,"sales":1234,"description":"…","attrs":{"颜色":["黑色","白色"],"尺码":"M"}}`)
		fmt.Fprintln(stderr, "  (also images: [urls], status: on|off)")
		fmt.Fprintln(stderr, `  SKUs (JSON only; replace the product's SKUs and set their stock):  "skus":[{"id":"p00001-bk-m","spec":{"颜色":"黑色","尺码":"M"},"price_fen":29900,"stock":120}]`)
		fmt.Fprintln(stderr, "CSV with a header row naming the same columns; images and attr:KEY columns hold '|'-separated lists,")
		fmt.Fprintln(stderr, "  or an attrs column holds the JSON object:  id,merchant_id,title,price_fen,attr:颜色,attr:尺码")
		fmt.Fprintln(stderr, "\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return flag.ErrHelp
	}
	name := fs.Arg(0)

	var ropts []commerce.ReaderOption
	switch *format {
	case "auto":
		ropts = append(ropts, commerce.WithFormat(commerce.FormatForName(name)))
	case "jsonl":
		ropts = append(ropts, commerce.WithFormat(commerce.FormatJSONL))
	case "csv":
		ropts = append(ropts, commerce.WithFormat(commerce.FormatCSV))
	default:
		return fmt.Errorf("-format %q: want auto, jsonl or csv", *format)
	}
	if *merchant != "" {
		ropts = append(ropts, commerce.WithMerchant(*merchant))
	}
	if *ignoreUnknown {
		ropts = append(ropts, commerce.IgnoreUnknownFields())
	}

	src, size, closeSrc, err := openInput(name)
	if err != nil {
		return err
	}
	defer closeSrc()
	var bar *progressbar.ProgressBar
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		bar = progressbar.DefaultBytes(size, "importing "+name)
		src = io.TeeReader(src, bar)
	}

	store, err := postgres.Open(ctx, *pgURL, postgres.WithLogger(log))
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		return err
	}

	rd, err := commerce.NewReader(src, ropts...)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	var w commerce.ProductWriter = store
	if *dryRun {
		w = store.DryRun()
	}
	printed := 0
	lastLog := time.Now()
	sum, err := commerce.Import(ctx, rd, w, commerce.BatchSize(*batch),
		commerce.OnReject(func(e *commerce.LineError) {
			if printed++; printed > maxPrintedRejects {
				return
			}
			if bar != nil {
				_ = bar.Clear()
			}
			id := ""
			if e.ID != "" {
				id = " (id " + e.ID + ")"
			}
			fmt.Fprintf(stderr, "%s:%d:%s %v\n", name, e.Line, id, e.Err)
		}),
		commerce.OnProgress(func(s commerce.Summary) {
			if bar == nil && time.Since(lastLog) >= 2*time.Second {
				lastLog = time.Now()
				log.Info("import progress", "file", name, "products", s.Accepted(), "rejected", s.Rejected,
					"per_second", int(float64(s.Accepted()+s.Rejected)/s.Elapsed.Seconds()))
			}
		}))
	if bar != nil {
		_ = bar.Finish()
	}
	if printed > maxPrintedRejects {
		fmt.Fprintf(stderr, "%s: … and %d more rejected lines\n", name, printed-maxPrintedRejects)
	}
	if err != nil {
		return fmt.Errorf("%s: %w (%s before the failure)", name, err, sum)
	}
	verb := "imported"
	if *dryRun {
		verb = "dry run, nothing stored:"
	}
	rate := float64(sum.Accepted()+sum.Rejected) / max(sum.Elapsed.Seconds(), 1e-9)
	fmt.Fprintf(stdout, "%s %s: %d created, %d updated, %d unchanged, %d rejected (%s, %.0f lines/s)\n",
		verb, name, sum.Created, sum.Updated, sum.Unchanged, sum.Rejected, sum.Elapsed.Round(time.Millisecond), rate)

	if !*dryRun && !*noPublish {
		if err := publishChanges(ctx, store, strings.Split(*brokers, ","), *topic, *publishTimeout, stdout); err != nil {
			return err
		}
	}
	if sum.Rejected > 0 {
		return fmt.Errorf("%s: %d lines %w", name, sum.Rejected, errRejected)
	}
	return nil
}

// openInput opens FILE, or standard input for "-", and reports its size
// (-1 when unknown).
func openInput(name string) (io.Reader, int64, func(), error) {
	if name == "-" {
		return os.Stdin, -1, func() {}, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, 0, nil, err
	}
	size := int64(-1)
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	return f, size, func() { f.Close() }, nil
}

// publishChanges drains the shared outbox (ingest/outbox) to Kafka: the
// product changes the import wrote, and whatever else was pending there (a
// relay publishes every pending event). Events left pending when it fails
// stay in the outbox for the next relay; nothing is lost.
func publishChanges(ctx context.Context, store *postgres.Store, brokers []string, topic string, timeout time.Duration, stdout io.Writer) error {
	pending, err := outbox.Pending(ctx, store.Pool())
	if err != nil || pending == 0 {
		return err
	}
	kc, err := outbox.NewKafkaClient(brokers)
	if err != nil {
		return err
	}
	defer kc.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := ingest.EnsureTopics(ctx, kc, ingest.DefaultPartitions, topic); err != nil {
		return fmt.Errorf("products are stored, but their changes are not published: %w", err)
	}
	n, err := outbox.NewRelay(store.Pool(), kc, outbox.WithTopic(topic)).Drain(ctx)
	if err != nil {
		left, _ := outbox.Pending(context.WithoutCancel(ctx), store.Pool())
		return fmt.Errorf("products are stored, but publishing their changes to %s failed after %d: %w "+
			"(%d changes wait in the outbox for the next relay: tide serve or tide import)", topic, n, err, left)
	}
	fmt.Fprintf(stdout, "published %d outbox events (the product changes among them) to %s\n", n, topic)
	return nil
}
