package ingest

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// tideBin is the tide binary that subprocess tests run, built by TestMain.
var tideBin string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "tide-ingest-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	tideBin = filepath.Join(dir, "tide")
	return m.Run()
}

var buildOnce sync.Once
var buildErr error

// buildTide builds ../cmd/tide once per test binary.
func buildTide(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		out, err := exec.Command("go", "build", "-o", tideBin, "../cmd/tide").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ../cmd/tide: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return tideBin
}

// TestKillNine kills `tide ingest` with SIGKILL at random moments six times
// while a million events stream in, restarting it each time, and
// checks that ingest inserted every event exactly once (the rows inserted, as
// kafka_offsets counted them, not what merges left), that the rollup totals
// are the events', and that no committed offset ever ran ahead of ClickHouse.
func TestKillNine(t *testing.T) {
	s := needServers(t)
	bin := buildTide(t)
	const n, partitions, kills = 1_000_000, 4, 6
	topic, db := s.fresh(t, partitions)
	group := topic

	events := testEvents(n, 42)
	keys, values := wire(t, events)
	// The producer never runs more than one share of n ahead of the kills
	// (share k+1 waits for kill k), so however slowly the runs start on a
	// loaded machine, every run has events left to insert when it is killed.
	var killed atomic.Int32
	t.Cleanup(func() { killed.Store(kills) }) // releases the producer if the test stops early
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		start := time.Now()
		s.produce(t, topic, keys, values, func(i int) { // about 40k events/s: 25 s, room for every kill
			if i%10_000 == 0 {
				for k := int(killed.Load()); k < kills && i >= (k+1)*n/(kills+1); k = int(killed.Load()) {
					time.Sleep(10 * time.Millisecond)
				}
				if d := time.Duration(i/40)*time.Millisecond - time.Since(start); d > 0 {
					time.Sleep(d)
				}
			}
		})
	}()

	logs := &bytes.Buffer{}
	startIngest := func() *exec.Cmd {
		cmd := exec.Command(bin, "ingest", "-brokers", s.brokers[0], "-topic", topic, "-dlq", topic+".dlq",
			"-group", group, "-instance-id", "kill-test", "-clickhouse", s.chAddr, "-database", db,
			"-batch-rows", "50000", "-batch-wait", "200ms", "-session-timeout", "6s")
		cmd.Stdout, cmd.Stderr = logs, logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("tide ingest logs:\n%s", tail(logs.Bytes(), 4000))
		}
	})
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	var prev uint64
	done := 0
	for k := 0; k < kills; k++ {
		if prev >= n { // everything landed already: a further run would never insert
			break
		}
		cmd := startIngest()
		started := time.Now()
		// Kill at a random moment once this run is inserting.
		waitFor(t, time.Minute, "ingest to insert", func() bool { return s.rows(db) > prev })
		t.Logf("run %d inserting %s after start", k+1, time.Since(started).Round(time.Millisecond))
		time.Sleep(time.Duration(r.IntN(3000)) * time.Millisecond) // spread the kills over the 25 s run
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		got, _ := s.counts(t, db)
		t.Logf("kill %d: ClickHouse holds %d rows", k+1, got)
		prev = got
		done++
		killed.Store(int32(done))
		s.checkCommitsBehindClickHouse(t, group, topic, db)
	}
	if done < kills {
		t.Fatalf("only %d kills happened before all %d events landed; the run must see %d", done, n, kills)
	}
	cmd := startIngest()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	<-produced
	waitFor(t, 5*time.Minute, "all events in ClickHouse", func() bool {
		return s.rows(db) >= n
	})
	s.waitCommitted(t, group, topic, n, time.Minute) // nothing left in flight: a duplicate would show below
	if ins, uniq := s.inserted(t, db, topic), s.uniq(t, db); ins != n || uniq != n {
		t.Fatalf("ingest inserted %d rows (countMerge of kafka_offsets, merges cannot hide a copy) of %d distinct events, produced %d", ins, uniq, n)
	}
	s.checkExact(t, db, events)
	s.checkCommitsBehindClickHouse(t, group, topic, db)
	ctx := context.Background()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	com, err := s.committed(ctx, group, topic)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, o := range com {
		total += o
	}
	if total != n {
		t.Errorf("committed offsets add up to %d after a clean stop, want %d", total, n)
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
