package chreport

import (
	"context"
	"fmt"

	"github.com/tide-live/tide/serving/report/abstat"
)

// ArmSums are the unit-level sums of one arm of an experiment over the
// merchant's audience, for abstat: N viewers; impressions (room and product
// cards shown) and clicks (room enters and product clicks) with their
// squares and cross product; buyers; GMV and its square.
type ArmSums struct {
	Arm                      string
	Users                    int64
	Impressions, Clicks      int64
	ImpSq, ClickSq, ClickImp float64
	Buyers                   int64
	GMV                      int64
	GMVSq                    float64
}

// CTR is the click-through metric's sums (clicks over impressions per viewer).
func (a ArmSums) CTR() abstat.Sums {
	return abstat.Sums{N: float64(a.Users), X: float64(a.Clicks), Y: float64(a.Impressions),
		XX: a.ClickSq, YY: a.ImpSq, XY: a.ClickImp}
}

// OrderRate is the order-rate metric's sums (buyers over exposed viewers;
// a buyer's x is 1, so Σx² = Σx).
func (a ArmSums) OrderRate() abstat.Sums {
	return abstat.MeanSums(float64(a.Users), float64(a.Buyers), float64(a.Buyers))
}

// GMVPerUser is the GMV-per-viewer metric's sums.
func (a ArmSums) GMVPerUser() abstat.Sums {
	return abstat.MeanSums(float64(a.Users), float64(a.GMV), a.GMVSq)
}

// Experiment sums experiment's arms over scope's time range. A viewer's arm
// is the one any of their events of the range's Asia/Shanghai days carries
// (exposures and stamped events, read from experiment_arms; experiments are
// platform-wide, so without a merchant filter); scope's From and To are
// taken to be day starts, as ReportService sets them. The viewer counts for
// the merchant when they saw at least one of the merchant's room or product
// cards in the range, and their outcomes are the merchant's (clicks on its
// cards, its paid orders).
func (s *Store) Experiment(ctx context.Context, sc Scope, experiment string) ([]ArmSums, error) {
	if err := s.flagsReady(ctx); err != nil {
		return nil, err
	}
	sub, args := s.rows(sc)
	q := `SELECT arm, count(), sum(imp), sum(clk), sum(imp * imp), sum(clk * clk), sum(clk * imp),
    sum(buy), sum(gmv), sum(toFloat64(gmv) * gmv)
FROM (
    SELECT cityHash64(u) AS uh, anyMerge(arm) AS arm
    FROM ` + s.db + `.experiment_arms
    WHERE experiment = ? AND day >= ? AND day <= ?
    GROUP BY uh
) ANY INNER JOIN (
    SELECT uh,
        toFloat64(` + countOf("et IN ('room_impression', 'product_impression')") + `) AS imp,
        toFloat64(` + countOf("et IN ('room_enter', 'product_click')") + `) AS clk,
        toUInt64(countIf(et = 'order_paid') > 0) AS buy,
        ` + sumOf("ev", "et = 'order_paid'") + ` AS gmv
    FROM (` + sub + `) GROUP BY uh HAVING imp > 0
) USING uh
GROUP BY arm ORDER BY arm`
	all := append([]any{experiment, uint32(ShanghaiDay(sc.From)), uint32(ShanghaiDay(sc.To - 1))}, args...)
	rows, err := s.conn.Query(ctx, q, all...)
	if err != nil {
		return nil, fmt.Errorf("chreport: experiment: %w", err)
	}
	defer rows.Close()
	var out []ArmSums
	for rows.Next() {
		var (
			a        ArmSums
			n, buy   uint64
			imp, clk float64
		)
		if err := rows.Scan(&a.Arm, &n, &imp, &clk, &a.ImpSq, &a.ClickSq, &a.ClickImp, &buy, &a.GMV, &a.GMVSq); err != nil {
			return nil, fmt.Errorf("chreport: experiment: %w", err)
		}
		a.Users, a.Impressions, a.Clicks, a.Buyers = int64(n), int64(imp), int64(clk), int64(buy)
		out = append(out, a)
	}
	return out, rows.Err()
}
