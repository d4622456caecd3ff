// Package testenv locates the real Kafka, ClickHouse and PostgreSQL servers
// that tests run against. The servers are started by scripts/services.sh
// (make services); addresses come from the same TIDE_* variables that the
// tide command reads, with defaults matching the script.
//
// When a server cannot be reached the test is skipped on a developer machine
// and fails when CI=true: in CI a missing server is an error, never a silent
// skip.
package testenv

import (
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// Default addresses, matching scripts/services.sh.
const (
	DefaultKafka      = "127.0.0.1:19092"
	DefaultClickHouse = "127.0.0.1:19000"
	DefaultPostgres   = "postgres://tide@127.0.0.1:15432/tide?sslmode=disable"
)

// Env returns the value of the environment variable key, or def when unset.
func Env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// Kafka returns the seed brokers from TIDE_KAFKA_BROKERS after checking the
// first one accepts TCP connections.
func Kafka(t testing.TB) []string {
	t.Helper()
	brokers := strings.Split(Env("TIDE_KAFKA_BROKERS", DefaultKafka), ",")
	require(t, "Kafka", brokers[0])
	return brokers
}

// ClickHouse returns the native-protocol address from TIDE_CLICKHOUSE_ADDR
// after checking it accepts TCP connections.
func ClickHouse(t testing.TB) string {
	t.Helper()
	addr := Env("TIDE_CLICKHOUSE_ADDR", DefaultClickHouse)
	require(t, "ClickHouse", addr)
	return addr
}

// Postgres returns the connection URL from TIDE_POSTGRES_URL after checking
// its host accepts TCP connections.
func Postgres(t testing.TB) string {
	t.Helper()
	raw := Env("TIDE_POSTGRES_URL", DefaultPostgres)
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("TIDE_POSTGRES_URL: %v", err)
	}
	require(t, "PostgreSQL", u.Host)
	return raw
}

func require(t testing.TB, what, addr string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err == nil {
		conn.Close()
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s at %s is not reachable (%v): in CI the servers must be running (make services)", what, addr, err)
	}
	t.Skipf("%s at %s is not reachable (%v); run `make services` to start it", what, addr, err)
}
