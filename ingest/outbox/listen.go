package outbox

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Listen holds a connection of pool LISTENing on NotifyChannel and signals
// wake (without blocking: a pending signal stands for many) each time it is
// established, since rows may have been added before, and for every
// notification. It reconnects a second after an error, logged as who's, and
// returns when ctx ends. The relay and every follower of the outbox's
// writers (serving/roomfeed) wake on it.
func Listen(ctx context.Context, pool *pgxpool.Pool, wake chan<- struct{}, log *slog.Logger, who string) {
	for ctx.Err() == nil {
		err := listenOnce(ctx, pool, wake)
		if ctx.Err() != nil {
			return
		}
		log.Warn(who+": LISTEN connection lost; polling meanwhile", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func listenOnce(ctx context.Context, pool *pgxpool.Pool, wake chan<- struct{}) error {
	conn, err := pgx.ConnectConfig(ctx, pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{NotifyChannel}.Sanitize()); err != nil {
		return err
	}
	notify(wake) // rows may have arrived before LISTEN
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		notify(wake)
	}
}

func notify(c chan<- struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
