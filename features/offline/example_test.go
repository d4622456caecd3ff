package offline_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/tide-live/tide/features/offline"
)

// Extract last week's product interactions into a user × item matrix.
func ExampleExtractor_Matrix() {
	extract := func(ctx context.Context, conn driver.Conn) error {
		x := offline.New(conn, offline.WithTable("tide", "events"))
		to := time.Now()
		m, err := x.Matrix(ctx, offline.Query{Kind: offline.Products, From: to.Add(-7 * 24 * time.Hour), To: to})
		if errors.Is(err, offline.ErrTooLittleData) {
			return fmt.Errorf("not enough history to train yet: %w", err)
		}
		if err != nil {
			return err
		}
		for u, user := range m.Users {
			items, weights, _ := m.Row(u)
			for k, i := range items {
				fmt.Println(user, m.Items[i], weights[k])
			}
		}
		return nil
	}
	_ = extract
}

// Stream the record batches without building a matrix.
func ExampleExtractor_Batches() {
	stream := func(ctx context.Context, x *offline.Extractor, q offline.Query) (rows int64, err error) {
		for rec, err := range x.Batches(ctx, q) {
			if err != nil {
				return rows, err
			}
			rows += rec.NumRows() // rec is released when the loop body returns
		}
		return rows, nil
	}
	_ = stream
}
