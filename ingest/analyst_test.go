package ingest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tide-live/tide/ingest/chschema"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// analystSeed is a small, hand-checkable day of two minutes in three rooms,
// today 10:00 and 10:01 in Asia/Shanghai, plus one event of yesterday.
func analystSeed(today time.Time) []*tidev1.Event {
	at := func(min, sec int) int64 {
		return today.Add(10*time.Hour + time.Duration(min)*time.Minute + time.Duration(sec)*time.Second).UnixMilli()
	}
	mf, pop := map[string]string{"feed_ranker": "mf"}, map[string]string{"feed_ranker": "pop"}
	n := 0
	ev := func(t tidev1.EventType, ts int64, user, device, merchant, room, product string, value int64, text string, exp map[string]string) *tidev1.Event {
		n++
		e := &tidev1.Event{EventId: fmt.Sprintf("seed-%d", n),
			Type: t, Ts: ts, ReceivedAt: ts + 50, UserId: user, DeviceId: device, MerchantId: merchant,
			RoomId: room, ProductId: product, Value: value, Text: text, Experiments: exp}
		if t == tidev1.EventType_EVENT_TYPE_ORDER_CREATED || t == tidev1.EventType_EVENT_TYPE_ORDER_PAID {
			e.Attrs = map[string]string{"order_id": "o-" + user}
		}
		return e
	}
	const (
		enter, chat, like  = tidev1.EventType_EVENT_TYPE_ROOM_ENTER, tidev1.EventType_EVENT_TYPE_CHAT, tidev1.EventType_EVENT_TYPE_LIKE
		click, cart        = tidev1.EventType_EVENT_TYPE_PRODUCT_CLICK, tidev1.EventType_EVENT_TYPE_ADD_TO_CART
		created, paid, imp = tidev1.EventType_EVENT_TYPE_ORDER_CREATED, tidev1.EventType_EVENT_TYPE_ORDER_PAID, tidev1.EventType_EVENT_TYPE_ROOM_IMPRESSION
	)
	return []*tidev1.Event{
		// r1 (merchant m1), 10:00
		ev(imp, at(0, 1), "u9", "", "", "r1", "", 0, "", nil), // an impression is not a viewer
		ev(enter, at(0, 2), "u1", "", "m1", "r1", "", 0, "", mf),
		ev(enter, at(0, 3), "u2", "", "", "r1", "", 0, "", mf),
		ev(enter, at(0, 4), "", "dev1", "", "r1", "", 0, "", nil),
		ev(chat, at(0, 5), "u1", "", "", "r1", "", 0, "好看", mf),
		ev(like, at(0, 6), "u1", "", "", "r1", "", 5, "", mf),
		ev(click, at(0, 7), "u2", "", "m1", "r1", "p1", 0, "", mf),
		ev(cart, at(0, 8), "u2", "", "m1", "r1", "p1", 19900, "", mf),
		ev(created, at(0, 9), "u2", "", "m1", "r1", "p1", 19900, "", mf),
		ev(paid, at(0, 10), "u2", "", "m1", "r1", "p1", 19900, "", mf),
		// r1, 10:01
		ev(enter, at(1, 0), "u3", "", "m1", "r1", "", 0, "", nil),
		ev(chat, at(1, 1), "u3", "", "", "r1", "", 0, "多少钱", nil),
		ev(chat, at(1, 2), "u1", "", "", "r1", "", 0, "买了", mf),
		// r2 (merchant m2): an order without a click
		ev(enter, at(0, 30), "u4", "", "m2", "r2", "", 0, "", pop),
		ev(created, at(1, 30), "u4", "", "m2", "r2", "p2", 5000, "", pop),
		ev(paid, at(1, 40), "u4", "", "m2", "r2", "p2", 5000, "", pop),
		// r3 (merchant m1): enter and click only
		ev(enter, at(0, 50), "u5", "", "m1", "r3", "", 0, "", pop),
		ev(click, at(0, 55), "u5", "", "m1", "r3", "p3", 0, "", pop),
		// yesterday: counts in no "today" report
		ev(paid, today.Add(-14*time.Hour).UnixMilli(), "u6", "", "m2", "r2", "p2", 777, "", nil),
		ev(chat, today.Add(-14*time.Hour).UnixMilli(), "u6", "", "", "r1", "", 0, "昨天", nil),
	}
}

// TestAnalystQueries runs every query of analyst_queries.sql through the real
// clickhouse-client on seeded data and checks the answers.
func TestAnalystQueries(t *testing.T) {
	s := needServers(t)
	client, err := exec.LookPath("clickhouse-client")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("clickhouse-client is not installed")
		}
		t.Skip("clickhouse-client is not installed")
	}
	_, port, err := net.SplitHostPort(s.chAddr)
	if err != nil {
		t.Fatal(err)
	}
	_, db := s.fresh(t, 1)
	ctx := context.Background()
	if _, err := chschema.Migrate(ctx, s.ch, db); err != nil {
		t.Fatal(err)
	}
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().In(sh)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, sh)
	// Every seed event twice, and the paid orders and a chat a third time
	// with another Kafka position (a client retry through a second replica),
	// merges stopped: the queries must count each event_id once anyway.
	seed := analystSeed(today)
	s.stopMerges(t, db)
	insertEvents(t, s, db, seed)
	insertEvents(t, s, db, seed)
	var retries []*tidev1.Event
	for _, e := range seed {
		if e.Type == tidev1.EventType_EVENT_TYPE_ORDER_PAID || e.Type == tidev1.EventType_EVENT_TYPE_CHAT {
			retries = append(retries, e)
		}
	}
	insertEventsAt(t, s, db, "retry", retries)
	if rows, uniq := s.counts(t, db); rows != uint64(2*len(seed)+len(retries)) || uniq != uint64(len(seed)) {
		t.Fatalf("seeded %d rows of %d events, want %d of %d", rows, uniq, 2*len(seed)+len(retries), len(seed))
	}

	day := today.Format("2006-01-02")
	want := map[string]string{
		"room_minutes_today": day + " 10:00:00\t3\t3\t1\t5\t1\t1\t19900\n" +
			day + " 10:01:00\t2\t1\t2\t0\t0\t0\t0\n",
		"top_rooms_by_gmv_today": "r1\tm1\t19900\t1\t4\n" +
			"r2\tm2\t5000\t1\t1\n" +
			"r3\tm1\t0\t0\t1\n",
		"funnel_today":      "6\t2\t1\t1\n",
		"chat_volume_today": "r1\t" + day + " 10:00:00\t3\t2\n",
		"experiment_arms_7d": "feed_ranker\tmf\t2\t1\t19900\n" +
			"feed_ranker\tpop\t2\t1\t5000\n",
	}
	sql, err := os.ReadFile("analyst_queries.sql")
	if err != nil {
		t.Fatal(err)
	}
	run := func(q string) string {
		cmd := exec.Command(client, "--port", port, "--database", db, "--multiquery", "--format", "TSV")
		cmd.Stdin = strings.NewReader(q)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("clickhouse-client: %v\n%s\n%s", err, errb.String(), q)
		}
		return out.String()
	}
	blocks := strings.Split(string(sql), "-- name: ")[1:]
	if len(blocks) != len(want) {
		t.Fatalf("analyst_queries.sql has %d named queries, the test knows %d", len(blocks), len(want))
	}
	for _, b := range blocks {
		name, q, _ := strings.Cut(b, "\n")
		name = strings.TrimSpace(name)
		t.Run(name, func(t *testing.T) {
			exp, ok := want[name]
			if !ok {
				t.Fatalf("no expected answer for %s", name)
			}
			if got := run(q); got != exp {
				t.Errorf("got\n%s\nwant\n%s", got, exp)
			}
		})
	}
	run(string(sql)) // the whole file also runs as one script
}

// insertEvents inserts events straight into db.events (no Kafka) through the
// ingester's columnar insert, as if read from topic "seed" at offsets 0, 1, ….
func insertEvents(t *testing.T, s *servers, db string, events []*tidev1.Event) {
	t.Helper()
	insertEventsAt(t, s, db, "seed", events)
}

// insertEventsAt is insertEvents with the given Kafka topic.
func insertEventsAt(t *testing.T, s *servers, db, topic string, events []*tidev1.Event) {
	t.Helper()
	c := newChunk(len(events))
	c.topic = topic
	d := newDecoder()
	for i, e := range events {
		val := marshal(t, e)
		if err := d.decode(val, true); err != nil {
			t.Fatal(err)
		}
		c.add(d, val, int64(i))
	}
	b := newBatch(0)
	b.chunks, b.rows = []*chunk{c}, c.rows()
	var scratch []string
	if err := insert(context.Background(), s.ch, InsertSQL(db), b, &scratch); err != nil {
		t.Fatal(err)
	}
}
