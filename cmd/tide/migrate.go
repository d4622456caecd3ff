package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"

	"github.com/tide-live/tide/ingest"
)

// runMigrate is `tide migrate`: apply the ClickHouse schema migrations.
func runMigrate(ctx context.Context, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("tide migrate", flag.ContinueOnError)
	chAddr := fs.String("clickhouse", ingestEnv("TIDE_CLICKHOUSE_ADDR", "127.0.0.1:19000"), "ClickHouse native address")
	db := fs.String("database", ingestEnv("TIDE_CLICKHOUSE_DATABASE", ingest.DefaultDatabase), "ClickHouse database")
	if err := fs.Parse(args); err != nil {
		return err
	}
	conn, err := ingest.OpenClickHouse(ctx, *chAddr)
	if err != nil {
		return err
	}
	defer conn.Close()
	applied, err := ingest.Migrate(ctx, conn, *db)
	if err != nil {
		return err
	}
	log.Info("ClickHouse schema is current", "database", *db, "applied", applied)
	for _, name := range applied {
		fmt.Println("applied", name)
	}
	return nil
}
