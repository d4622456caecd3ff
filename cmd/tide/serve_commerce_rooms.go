package main

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tide-live/tide/live"
	livepg "github.com/tide-live/tide/live/postgres"
	servingcommerce "github.com/tide-live/tide/serving/commerce"
)

// roomOwner finds a live room's merchant in the live registry's tables (the
// same database as the checkout), for the merchant's room promotions; a
// room that does not exist belongs to nobody.
func roomOwner(pool *pgxpool.Pool) servingcommerce.RoomOwner {
	reg := livepg.New(pool)
	return func(ctx context.Context, roomID string) (string, error) {
		r, err := reg.Room(ctx, roomID)
		if errors.Is(err, live.ErrNotFound) {
			return "", nil
		}
		return r.MerchantID, err
	}
}
