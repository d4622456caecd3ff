package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// payerLookback is how many of a user's latest orders PayerOpenID reads.
const payerLookback = 50

// PayerOpenID is the openid userID last paid with (the payer_openid of
// their latest attempt that has one, among their 50 latest orders): tide
// keeps no openid at login, so a user who has never paid has none, and ok
// is false. Pay records an openid only after checking it maps to the user
// (serving/commerce.OpenIDFromLoginCode), so it is theirs.
func (r *Orders) PayerOpenID(ctx context.Context, userID string) (openID string, ok bool, err error) {
	err = r.s.pool.QueryRow(ctx, `
		SELECT a.payer_openid
		FROM (SELECT id FROM orders WHERE user_id = $1 ORDER BY created_at DESC LIMIT $2) o
		JOIN payment_attempts a ON a.order_id = o.id
		WHERE a.payer_openid <> ''
		ORDER BY a.created_at DESC
		LIMIT 1`, userID, payerLookback).Scan(&openID)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return "", false, nil
	case err != nil:
		return "", false, fmt.Errorf("user %s payer openid: %w", userID, err)
	}
	return openID, true, nil
}
