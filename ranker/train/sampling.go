package train

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tide-live/tide/ingest"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// keepFraction is the fraction of viewers whose impressions in [from, to)
// can be sampled within o.MaxSamples per kind: 1 when the busier kind has
// no more impressions than that, else MaxSamples over its count. It bounds
// the replay's sample memory however much the event log grows (the
// features store is bounded by its TTLs, not by the log).
func (o *Options) keepFraction(ctx context.Context, conn driver.Conn, from, to time.Time) (float64, error) {
	if !identRE.MatchString(o.Database) || !identRE.MatchString(o.Table) {
		return 0, fmt.Errorf("train: table %s.%s is not a plain identifier", o.Database, o.Table)
	}
	tbl := o.Database + "." + o.Table
	prune := from.Add(-ingest.DefaultLimits().MaxPast - 24*time.Hour).UTC()
	q := `SELECT countIf(type = ?), countIf(type = ?) FROM ` + tbl + `
	WHERE date >= toDate(?) AND received_at >= ? AND received_at < ?`
	var rooms, products uint64
	err := conn.QueryRow(ctx, q, ingest.TypeName(tidev1.EventType_EVENT_TYPE_ROOM_IMPRESSION),
		ingest.TypeName(tidev1.EventType_EVENT_TYPE_PRODUCT_IMPRESSION), prune, from.UnixMilli(), to.UnixMilli()).Scan(&rooms, &products)
	if err != nil {
		return 0, fmt.Errorf("train: counting impressions in %s: %w", tbl, err)
	}
	busiest := max(rooms, products)
	if busiest <= uint64(o.MaxSamples) {
		return 1, nil
	}
	keep := float64(o.MaxSamples) / float64(busiest)
	o.Log.Info("train: subsampling viewers to bound the CTR samples", "impressions", busiest, "max", o.MaxSamples, "keep", keep)
	return keep, nil
}

// kept reports whether viewer who's impressions are sampled (Keep).
func (s *Sampler) kept(who string) bool {
	if s.cfg.Keep <= 0 || s.cfg.Keep >= 1 {
		return true
	}
	h := uint32(2166136261) // FNV-1a, inline: no allocation per impression
	for i := 0; i < len(who); i++ {
		h ^= uint32(who[i])
		h *= 16777619
	}
	h ^= h >> 16 // murmur3's finaliser: FNV's high bits are uneven on short ids
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return float64(h) < s.cfg.Keep*(1<<32)
}
