package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"text/tabwriter"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tide-live/tide/serving/auth"
)

// runKeys is `tide keys create|list|revoke`: merchant and admin API keys in
// PostgreSQL (TIDE_POSTGRES_URL), the store `tide serve` reads with
// TIDE_API_KEYS=postgres, so a merchant is onboarded without SQL.
func runKeys(ctx context.Context, log *slog.Logger, args []string) error {
	return keysCommand(ctx, log, os.Stdout, args)
}

const keysUsage = `usage:
  tide keys create -merchant ID [-name NAME]   a merchant key (printed once)
  tide keys create -admin [-name NAME]         an admin key (printed once)
  tide keys list [-merchant ID]                live keys (ids, never the keys)
  tide keys revoke KEY_ID                      stop a key working at once`

func keysCommand(ctx context.Context, log *slog.Logger, out io.Writer, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, keysUsage)
		return flag.ErrHelp
	}
	fs := flag.NewFlagSet("tide keys "+args[0], flag.ContinueOnError)
	dsn := fs.String("postgres", serveEnv("TIDE_POSTGRES_URL", "postgres://tide@127.0.0.1:15432/tide?sslmode=disable"), "PostgreSQL URL (env TIDE_POSTGRES_URL)")
	merchant := fs.String("merchant", "", "merchant id")
	admin := fs.Bool("admin", false, "create an admin key")
	name := fs.String("name", "", "what the key is for, e.g. dashboard")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	pool, err := pgxpool.New(ctx, *dsn)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	defer pool.Close()
	keys := auth.NewPGKeys(pool, log)
	if err := keys.Migrate(ctx); err != nil {
		return err
	}
	switch args[0] {
	case "create":
		role := auth.RoleMerchant
		switch {
		case *admin && *merchant != "":
			return errors.New("-admin and -merchant exclude each other")
		case *admin:
			role = auth.RoleAdmin
		case *merchant == "":
			return errors.New("-merchant is required (or -admin)")
		}
		key, rec, err := keys.Create(ctx, role, *merchant, *name)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "id\t%s\nrole\t%s\nmerchant\t%s\nkey\t%s\n", rec.ID, rec.Role, rec.MerchantID, key)
		fmt.Fprintln(os.Stderr, "the key is shown this once; store it now (tide keeps only its hash)")
		return nil
	case "list":
		ks, err := keys.List(ctx, *merchant)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tROLE\tMERCHANT\tNAME")
		for _, k := range ks {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.ID, k.Role, k.MerchantID, k.Name)
		}
		return tw.Flush()
	case "revoke":
		if fs.NArg() != 1 {
			return errors.New("revoke takes one key id (see tide keys list)")
		}
		if err := keys.Revoke(ctx, fs.Arg(0)); err != nil {
			return err
		}
		fmt.Fprintf(out, "revoked %s\n", fs.Arg(0))
		return nil
	}
	fmt.Fprintln(os.Stderr, keysUsage)
	return fmt.Errorf("unknown keys subcommand %q", args[0])
}
