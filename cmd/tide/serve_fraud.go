package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/tide-live/tide/features"
	"github.com/tide-live/tide/features/fraud"
	"github.com/tide-live/tide/features/fraud/fraudch"
	"github.com/tide-live/tide/ingest"
)

// fraudFilter runs the anti-fraud rules on the online features' event
// stream and leaves flagged accounts' and devices' traffic out of the
// features (hence out of trending and every feed signal). Flags go to
// ClickHouse's fraud_flags when TIDE_CLICKHOUSE_ADDR is set
// (TIDE_CLICKHOUSE_DATABASE, default tide), and the flags already there are
// restored first, so a restart keeps excluding them. TIDE_FRAUD=off turns
// it off.
func fraudFilter(ctx context.Context, log *slog.Logger) features.Option {
	if os.Getenv("TIDE_FRAUD") == "off" {
		log.Info("fraud: rules off (TIDE_FRAUD=off)")
		return features.WithFilter(nil)
	}
	var opts []fraud.Option
	var restore func(*fraud.Engine)
	if addr := os.Getenv("TIDE_CLICKHOUSE_ADDR"); addr != "" {
		db := serveEnv("TIDE_CLICKHOUSE_DATABASE", "tide")
		conn, err := ingest.OpenClickHouse(ctx, addr)
		if err != nil {
			log.Warn("fraud: flags are not written to ClickHouse", "err", err)
		} else if w, err := fraudch.NewWriter(conn, db, fraudch.WithLogger(log)); err != nil {
			conn.Close()
			log.Warn("fraud: flags are not written to ClickHouse", "err", err)
		} else {
			opts = append(opts, fraud.WithSink(w.Add))
			restore = func(eng *fraud.Engine) {
				rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				defer cancel()
				n, err := fraudch.Restore(rctx, conn, db, eng)
				if err != nil {
					log.Warn("fraud: earlier flags not restored", "err", err)
					return
				}
				log.Info("fraud: restored earlier flags", "flags", n)
			}
			go func() {
				defer conn.Close()
				_ = w.Run(ctx, time.Second)
			}()
		}
	}
	eng := fraud.New(opts...)
	if restore != nil {
		restore(eng)
	}
	log.Info("fraud: rules on, flagged traffic left out of the online features")
	return features.WithFilter(eng.Keep)
}
