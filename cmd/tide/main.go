// Command tide runs the tide platform: the RPC server, the event ingester,
// training, evaluation, imports and the self-contained demo.
//
// Each subcommand lives in its own file and is listed in commands below; this
// file only dispatches.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one `tide NAME` subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, log *slog.Logger, args []string) error
}

// commands lists every subcommand. Keep it sorted by name.
func commands() []command {
	return []command{
		{"demo", "the whole platform in one process with simulated live-room traffic", runDemo},
		{"eval", "offline evaluation: tide eval ranker|search", runEval},
		{"import", "import products into the catalog: tide import products FILE", runImport},
		{"keys", "merchant and admin API keys in PostgreSQL: tide keys create|list|revoke", runKeys},
		{"ingest", "consume the events topic into ClickHouse (effectively once)", runIngest},
		{"migrate", "apply the ClickHouse schema migrations", runMigrate},
		{"rebuild", "rebuild the search index from the catalog: tide rebuild search", runRebuild},
		{"serve", "the RPC server: Track and the other Connect services, metrics, probes", runServe},
		{"train", "train the products, anchors and CTR models from ClickHouse and publish a version", runTrain},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel()}))
	os.Exit(run(ctx, log, os.Args[1:]))
}

func run(ctx context.Context, log *slog.Logger, args []string) int {
	cmds := commands()
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].name < cmds[j].name })
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(cmds)
		return 2
	}
	for _, c := range cmds {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, log, args[1:])
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 2
		default:
			fmt.Fprintf(os.Stderr, "tide %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(os.Stderr, "tide: unknown command %q\n\n", args[0])
	usage(cmds)
	return 2
}

func usage(cmds []command) {
	fmt.Fprintln(os.Stderr, "usage: tide COMMAND [flags]\n\ncommands:")
	for _, c := range cmds {
		fmt.Fprintf(os.Stderr, "  %-10s %s\n", c.name, c.summary)
	}
}

func logLevel() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(os.Getenv("TIDE_LOG_LEVEL"))); err != nil {
		return slog.LevelInfo
	}
	return l
}
