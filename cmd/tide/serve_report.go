package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/tide-live/tide/ingest"
	"github.com/tide-live/tide/serving"
	"github.com/tide-live/tide/serving/dashboard"
	"github.com/tide-live/tide/serving/report"
	"github.com/tide-live/tide/serving/report/chreport"
)

// Environment of `tide serve`'s merchant back office.
//
//	TIDE_CLICKHOUSE_ADDR      ReportService reads this ClickHouse (native
//	                          protocol); unset: ReportService is off
//	TIDE_CLICKHOUSE_DATABASE  its database (default tide)
//
// The dashboard's static files are served under /dashboard/ either way.
const dashboardPath = "/dashboard/"

// setupReport mounts the dashboard and, when a ClickHouse address is
// configured (cfg.reportAddr, else TIDE_CLICKHOUSE_ADDR), ReportService
// over it with a readiness check. The connection closes when ctx ends.
func setupReport(ctx context.Context, log *slog.Logger, srv *serving.Server, cfg serveConfig) error {
	srv.Mount(dashboardPath, dashboard.Handler(dashboardPath))
	addr, db := cfg.reportAddr, cfg.reportDB
	if addr == "" {
		addr = os.Getenv("TIDE_CLICKHOUSE_ADDR")
	}
	if db == "" {
		db = serveEnv("TIDE_CLICKHOUSE_DATABASE", "tide")
	}
	if addr == "" {
		log.Warn("ReportService is off: set TIDE_CLICKHOUSE_ADDR")
		return nil
	}
	conn, err := ingest.OpenClickHouse(ctx, addr)
	if err != nil {
		return fmt.Errorf("report: clickhouse %s: %w", addr, err)
	}
	store, err := chreport.New(conn, db)
	if err != nil {
		conn.Close()
		return err
	}
	go func() {
		<-ctx.Done()
		conn.Close()
	}()
	srv.AddReadyCheck("report", store.Ping)
	srv.Mount(report.NewHandler(store, report.WithLogger(log)).Mount(srv.ConnectOptions()...))
	log.Info("ReportService on", "clickhouse", addr, "database", db, "dashboard", dashboardPath)
	return nil
}
