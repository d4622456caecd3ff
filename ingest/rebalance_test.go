package ingest

import (
	"bytes"
	"math/rand/v2"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer that a subprocess writes while the test
// reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestTwoIngestersOneKilled runs two `tide ingest` processes in one consumer
// group (dynamic members, so every kill and every restart is a rebalance)
// while events stream in, and kills one of them with SIGKILL again and again,
// each time once it has partitions. Every event must be inserted exactly once
// (as kafka_offsets counted the inserts, not as merges left them), the rollup
// totals must be the events', and no commit may run ahead of ClickHouse.
func TestTwoIngestersOneKilled(t *testing.T) {
	s := needServers(t)
	bin := buildTide(t)
	const n, partitions, kills, rate = 400_000, 6, 5, 15_000 // about 27 s of traffic, kills spread over it
	topic, db := s.fresh(t, partitions)
	group := topic

	events := testEvents(n, 77)
	keys, values := wire(t, events)
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		start := time.Now()
		s.produce(t, topic, keys, values, func(i int) {
			if i%1000 == 0 {
				if d := time.Duration(i)*time.Second/rate - time.Since(start); d > 0 {
					time.Sleep(d)
				}
			}
		})
	}()

	start := func(name string, logs *lockedBuffer) *exec.Cmd {
		cmd := exec.Command(bin, "ingest", "-brokers", s.brokers[0], "-topic", topic, "-dlq", topic+".dlq",
			"-group", group, "-clickhouse", s.chAddr, "-database", db,
			"-batch-rows", "20000", "-batch-wait", "200ms", "-session-timeout", "6s")
		cmd.Stdout, cmd.Stderr = logs, logs
		if err := cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", name, err)
		}
		return cmd
	}
	stayLogs := &lockedBuffer{}
	stay := start("the staying ingester", stayLogs)
	defer func() {
		_ = stay.Process.Signal(syscall.SIGTERM)
		_ = stay.Wait()
	}()
	var killedLogs []*lockedBuffer
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("staying ingester:\n%s", tail([]byte(stayLogs.String()), 4000))
			for k, l := range killedLogs {
				t.Logf("killed ingester, run %d:\n%s", k+1, tail([]byte(l.String()), 1500))
			}
		}
	})

	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
	for k := 0; k < kills; k++ {
		logs := &lockedBuffer{}
		killedLogs = append(killedLogs, logs)
		cmd := start("the killed ingester", logs)
		waitFor(t, time.Minute, "the second ingester to get partitions", func() bool {
			return strings.Contains(logs.String(), "partitions assigned")
		})
		time.Sleep(time.Duration(500+r.IntN(1500)) * time.Millisecond) // kill mid-work
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		t.Logf("kill %d: ClickHouse holds %d rows", k+1, s.rows(db))
		s.checkCommitsBehindClickHouse(t, group, topic, db)
	}
	<-produced
	waitFor(t, 3*time.Minute, "all events in ClickHouse", func() bool { return s.uniq(t, db) >= n })
	s.waitCommitted(t, group, topic, n, time.Minute) // nothing left in flight: a copy would show below
	if ins, uniq := s.inserted(t, db, topic), s.uniq(t, db); ins != n || uniq != n {
		t.Fatalf("ingest inserted %d rows (countMerge of kafka_offsets) of %d distinct events, produced %d", ins, uniq, n)
	}
	s.checkExact(t, db, events)
	s.checkCommitsBehindClickHouse(t, group, topic, db)
	// Each run of the killed ingester was assigned partitions (waited for
	// above), so the group rebalanced at least once per run.
	t.Logf("the staying ingester was assigned partitions %d times and revoked %d times",
		strings.Count(stayLogs.String(), "partitions assigned"), strings.Count(stayLogs.String(), "partitions revoked"))
}
