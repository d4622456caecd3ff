package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Accounts remembers when tide first saw each mini-program user: the
// account's creation time, which Login puts in the session token
// (Principal.AccountCreated) and Track stamps on events as acct_created for
// the anti-fraud rules; and the openid the user logged in with, which
// WeChat's server APIs name the user by.
type Accounts interface {
	// FirstSeen records that userID, whose WeChat openid is openID, was
	// seen at now, unless it was seen before, and returns the first time
	// it was seen. The openid is kept (the latest non-empty one).
	FirstSeen(ctx context.Context, userID, openID string, now time.Time) (time.Time, error)
}

// PGAccounts is Accounts in PostgreSQL (table auth_accounts, made by
// Migrate). Safe for concurrent use, across replicas too: the first writer
// of a user wins and everyone reads its time.
type PGAccounts struct {
	pool *pgxpool.Pool
}

// NewPGAccounts uses pool; the caller closes it and runs Migrate first.
func NewPGAccounts(pool *pgxpool.Pool) *PGAccounts { return &PGAccounts{pool: pool} }

// FirstSeen implements Accounts in one statement: the no-op update on
// conflict makes RETURNING give the stored row, so a returning user's time
// never moves.
func (a *PGAccounts) FirstSeen(ctx context.Context, userID, openID string, now time.Time) (time.Time, error) {
	if userID == "" {
		return time.Time{}, errors.New("account first seen: empty user id")
	}
	var first time.Time
	err := a.pool.QueryRow(ctx, `INSERT INTO auth_accounts (user_id, first_seen, openid) VALUES ($1, $2, $3)
		ON CONFLICT (user_id) DO UPDATE SET openid = CASE WHEN EXCLUDED.openid = '' THEN auth_accounts.openid ELSE EXCLUDED.openid END
		RETURNING first_seen`, userID, now.UTC(), openID).Scan(&first)
	if err != nil {
		return time.Time{}, fmt.Errorf("account %s first seen: %w", userID, err)
	}
	return first.UTC(), nil
}

// OpenID is the openid userID last logged in with; ok is false for a user
// never seen, or seen only before openids were kept.
func (a *PGAccounts) OpenID(ctx context.Context, userID string) (openID string, ok bool, err error) {
	err = a.pool.QueryRow(ctx, `SELECT openid FROM auth_accounts WHERE user_id = $1`, userID).Scan(&openID)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("account %s openid: %w", userID, err)
	}
	return openID, openID != "", nil
}
