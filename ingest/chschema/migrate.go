package chschema

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

//go:embed migrations/*.sql
var files embed.FS

// Migration is one versioned schema change.
type Migration struct {
	Version  uint32 // from the file name's numeric prefix, e.g. 1 for 0001_events.sql
	Name     string // the file name without .sql, e.g. "0001_events"
	SQL      string // statements with {db} standing for the database name
	Checksum string // hex SHA-256 of SQL
}

var nameRE = regexp.MustCompile(`^(\d+)_[a-z0-9_]+\.sql$`)

// identRE is what a database name may be: it is spliced into SQL.
var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Migrations returns the embedded migrations in version order.
func Migrations() ([]Migration, error) {
	entries, err := fs.ReadDir(files, "migrations")
	if err != nil {
		return nil, fmt.Errorf("chschema: read migrations: %w", err)
	}
	var ms []Migration
	seen := map[uint32]string{}
	for _, e := range entries {
		m := nameRE.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("chschema: migration file %q is not NNNN_name.sql", e.Name())
		}
		v, err := strconv.ParseUint(m[1], 10, 32)
		if err != nil {
			return nil, fmt.Errorf("chschema: migration %q: %w", e.Name(), err)
		}
		if prev, dup := seen[uint32(v)]; dup {
			return nil, fmt.Errorf("chschema: migrations %q and %q share version %d", prev, e.Name(), v)
		}
		seen[uint32(v)] = e.Name()
		b, err := files.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("chschema: read %s: %w", e.Name(), err)
		}
		sum := sha256.Sum256(b)
		ms = append(ms, Migration{
			Version:  uint32(v),
			Name:     strings.TrimSuffix(e.Name(), ".sql"),
			SQL:      string(b),
			Checksum: hex.EncodeToString(sum[:]),
		})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	return ms, nil
}

// Statements splits the migration into single statements for database db.
// Statements end with a semicolon at the end of a line; "--" comment lines are
// dropped.
func (m Migration) Statements(db string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(m.SQL, "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "--") {
			continue
		}
		cur.WriteString(strings.ReplaceAll(line, "{db}", db))
		cur.WriteByte('\n')
		if strings.HasSuffix(trimmed, ";") {
			s := strings.TrimSuffix(strings.TrimSpace(cur.String()), ";")
			out = append(out, s)
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}

// Migrate creates database if needed and applies, in order, every embedded
// migration not yet recorded in its schema_migrations table. It returns the
// names of the migrations it applied (empty when the schema was current).
//
// Concurrent callers are safe enough: statements are idempotent, a failed
// statement is retried a few times (ClickHouse may refuse a CREATE racing
// another), and a migration recorded twice is harmless.
func Migrate(ctx context.Context, conn driver.Conn, database string) ([]string, error) {
	if !identRE.MatchString(database) {
		return nil, fmt.Errorf("chschema: database name %q is not a plain identifier", database)
	}
	ms, err := Migrations()
	if err != nil {
		return nil, err
	}
	boot := []string{
		"CREATE DATABASE IF NOT EXISTS " + database,
		"CREATE TABLE IF NOT EXISTS " + database + `.schema_migrations
(
    version    UInt32,
    name       String,
    checksum   String,
    applied_at DateTime('UTC')
)
ENGINE = ReplacingMergeTree()
ORDER BY version`,
	}
	for _, q := range boot {
		if err := execRetry(ctx, conn, q); err != nil {
			return nil, fmt.Errorf("chschema: bootstrap %s: %w", database, err)
		}
	}
	done, err := Applied(ctx, conn, database)
	if err != nil {
		return nil, err
	}
	var applied []string
	for _, m := range ms {
		if _, ok := done[m.Version]; ok {
			continue
		}
		for _, q := range m.Statements(database) {
			if err := execRetry(ctx, conn, q); err != nil {
				return applied, fmt.Errorf("chschema: migration %s: %w", m.Name, err)
			}
		}
		if err := record(ctx, conn, database, m); err != nil {
			return applied, fmt.Errorf("chschema: record migration %s: %w", m.Name, err)
		}
		applied = append(applied, m.Name)
	}
	return applied, nil
}

// record adds m to schema_migrations. (An INSERT through Exec with bound
// values hangs on 18.16; a one-row batch works everywhere.)
func record(ctx context.Context, conn driver.Conn, database string, m Migration) error {
	b, err := conn.PrepareBatch(ctx, "INSERT INTO "+database+".schema_migrations (version, name, checksum, applied_at)")
	if err != nil {
		return err
	}
	if err := b.Append(m.Version, m.Name, m.Checksum, time.Now().UTC()); err != nil {
		b.Abort()
		return err
	}
	return b.Send()
}

// Applied returns the versions recorded in database's schema_migrations table,
// with the checksum each was applied with.
func Applied(ctx context.Context, conn driver.Conn, database string) (map[uint32]string, error) {
	rows, err := conn.Query(ctx, "SELECT version, any(checksum) FROM "+database+".schema_migrations GROUP BY version")
	if err != nil {
		return nil, fmt.Errorf("chschema: read schema_migrations: %w", err)
	}
	defer rows.Close()
	done := map[uint32]string{}
	for rows.Next() {
		var v uint32
		var sum string
		if err := rows.Scan(&v, &sum); err != nil {
			return nil, fmt.Errorf("chschema: read schema_migrations: %w", err)
		}
		done[v] = sum
	}
	return done, rows.Err()
}

// execRetry runs one idempotent DDL statement, retrying a few times: two
// processes creating the same table at once can make ClickHouse answer "already
// exists" to an IF NOT EXISTS, which succeeds when run again.
func execRetry(ctx context.Context, conn driver.Conn, q string) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if err = conn.Exec(ctx, q); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 200 * time.Millisecond):
		}
	}
	return err
}
