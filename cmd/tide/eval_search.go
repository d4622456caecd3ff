package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"time"

	"github.com/tide-live/tide/commerce/democatalog"
	"github.com/tide-live/tide/search"
)

// evalSearch is `tide eval search`: it builds a fresh index from a catalog
// with the production analysis, runs a labelled query set through
// search.Index.Search (the code the Search RPC uses) and through a plain
// Bleve standard-analyzer baseline, and prints per-kind figures. The last
// line is `ndcg10=… mrr10=… zero_result_rate=… queries=…` for our search.
func evalSearch(ctx context.Context, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("tide eval search", flag.ContinueOnError)
	catalogPath := fs.String("catalog", "", "catalog JSON Lines (default: the embedded demo catalog)")
	queriesPath := fs.String("queries", "search/testdata/queries.tsv", "labelled queries TSV: query, product_id, grade[, kind]")
	synonymsPath := fs.String("synonyms", "", "extra synonym file merged with the shipped list")
	worst := fs.Int("worst", 0, "also list this many of our worst queries")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var catalog io.Reader = democatalog.Open()
	if *catalogPath != "" {
		b, err := os.ReadFile(*catalogPath)
		if err != nil {
			return err
		}
		catalog = bytes.NewReader(b)
	}
	products, err := search.ReadProducts(catalog)
	if err != nil {
		return err
	}
	qf, err := os.Open(*queriesPath)
	if err != nil {
		return err
	}
	judgments, err := search.ReadJudgments(qf)
	qf.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", *queriesPath, err)
	}
	var opts []search.Option
	opts = append(opts, search.WithLogger(log))
	if *synonymsPath != "" {
		extra, err := search.LoadSynonyms(*synonymsPath)
		if err != nil {
			return err
		}
		opts = append(opts, search.WithAnalysis(search.WithSynonyms(search.DefaultSynonyms().Merge(extra))))
	}
	start := time.Now()
	ix, err := search.New(ctx, products, opts...)
	if err != nil {
		return err
	}
	defer ix.Close()
	fmt.Printf("indexed %d products in %s; %d queries\n", len(products), time.Since(start).Round(time.Millisecond), len(judgments))
	ours, err := search.Evaluate(ctx, judgments, func(ctx context.Context, text string) ([]string, error) {
		resp, err := ix.Search(ctx, search.Request{Text: text, Limit: 10})
		if err != nil {
			return nil, err
		}
		ids := make([]string, len(resp.Hits))
		for i, h := range resp.Hits {
			ids[i] = h.Product.ID
		}
		return ids, nil
	})
	if err != nil {
		return err
	}
	base, err := search.NewBaseline(ctx, products)
	if err != nil {
		return err
	}
	defer base.Close()
	baseline, err := search.Evaluate(ctx, judgments, func(ctx context.Context, text string) ([]string, error) {
		return base.Search(ctx, text, 10)
	})
	if err != nil {
		return err
	}
	if *worst > 0 {
		per := append([]search.QueryResult(nil), ours.PerQuery...)
		sort.SliceStable(per, func(i, j int) bool { return per[i].NDCG10 < per[j].NDCG10 })
		for _, q := range per[:min(*worst, len(per))] {
			fmt.Printf("worst %-16s ndcg10=%.3f rr10=%.3f %q top=%v\n", q.Kind, q.NDCG10, q.RR10, q.Query, q.Top[:min(5, len(q.Top))])
		}
	}
	fmt.Printf("%-16s %5s  %-15s  %-15s  %-15s\n", "kind", "n", "ndcg10 ours/base", "mrr10 ours/base", "zero ours/base")
	row := func(name string, o, b search.Metrics) {
		fmt.Printf("%-16s %5d  %6.3f / %6.3f  %6.3f / %6.3f  %6.3f / %6.3f\n", name, o.Queries,
			o.NDCG10, b.NDCG10, o.MRR10, b.MRR10, o.ZeroRate, b.ZeroRate)
	}
	for _, k := range ours.Kinds() {
		row(k, ours.ByKind[k], baseline.ByKind[k])
	}
	row("all", ours.Overall, baseline.Overall)
	o := ours.Overall
	fmt.Printf("ndcg10=%.4f mrr10=%.4f zero_result_rate=%.4f queries=%d\n", o.NDCG10, o.MRR10, o.ZeroRate, o.Queries)
	return nil
}
