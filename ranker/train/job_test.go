package train_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tide-live/tide/features"
	"github.com/tide-live/tide/features/eventstest"
	"github.com/tide-live/tide/live/livesim"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/ranker"
	"github.com/tide-live/tide/ranker/ctr"
	"github.com/tide-live/tide/ranker/train"
)

var simStart = time.Date(2025, 6, 1, 16, 0, 0, 0, time.UTC) // midnight in Shanghai

// simulate returns the events of a small simulated world over d, stamped
// as received when made.
func simulate(users, merchants int, d time.Duration) []*tidev1.Event {
	sim := livesim.New(livesim.WithSeed(3), livesim.WithUsers(users), livesim.WithMerchants(merchants), livesim.WithStart(simStart))
	end := simStart.Add(d).UnixMilli()
	var es []*tidev1.Event
	for {
		e := sim.Next()
		if e.GetTs() >= end {
			return es
		}
		e.ReceivedAt = e.GetTs()
		es = append(es, e)
	}
}

// TestRunEndToEnd trains from a seeded ClickHouse events table and checks
// the published version loads and scores.
func TestRunEndToEnd(t *testing.T) {
	conn, db := eventstest.Open(t)
	es := simulate(300, 30, 36*time.Hour)
	eventstest.Insert(t, conn, db, es)
	out := t.TempDir()
	ctx := context.Background()
	stages := map[string]bool{}
	o := train.Options{Database: db, From: simStart, To: simStart.Add(36 * time.Hour), Out: out, Version: "v1",
		CTRPeriod: 12 * time.Hour, Log: slog.New(slog.DiscardHandler), Progress: func(stage string, done, total int) { stages[stage] = true }}
	res, err := train.Run(ctx, conn, o)
	if err != nil {
		t.Fatal(err)
	}
	m := res.Manifest
	t.Logf("%d events; manifest %+v", len(es), m)
	for _, s := range []string{"anchors mf", "products neighbors", "ctr replay (minutes of stream)", "ctr rooms"} {
		if !stages[s] {
			t.Errorf("no progress for stage %q (have %v)", s, stages)
		}
	}
	if m.Anchors.Items < 25 || m.Anchors.Users < 100 || m.Products.Items < 100 {
		t.Errorf("anchors %+v, products %+v", m.Anchors, m.Products)
	}
	if m.CTR.Rooms == nil || m.CTR.Rooms.Samples < 1000 || m.CTR.Rooms.TestAUC < 0.6 {
		t.Errorf("room CTR %+v, want >= 1000 samples and held-out AUC >= 0.6", m.CTR.Rooms)
	}
	if m.CTR.Products == nil || m.CTR.Products.Positives == 0 {
		t.Errorf("product CTR %+v", m.CTR.Products)
	}
	for _, f := range []string{train.ProductsFile, train.AnchorsFile, train.CTRFile, train.ManifestFile} {
		if _, err := os.Stat(filepath.Join(out, "v1", f)); err != nil {
			t.Error(err)
		}
	}
	if dir, err := train.Current(out); err != nil || dir != filepath.Join(out, "v1") {
		t.Fatalf("current = %q, %v", dir, err)
	}

	// Serving: swap the anchors model in through the current link and
	// score a live room with the CTR model.
	st := ranker.NewStore(nil)
	if err := st.LoadFile(filepath.Join(out, train.CurrentLink, train.AnchorsFile)); err != nil {
		t.Fatal(err)
	}
	b, err := train.LoadCurrent(out)
	if err != nil {
		t.Fatal(err)
	}
	if b.Manifest.Version != "v1" || b.CTR.Rooms == nil || st.Model().NumItems() != b.Anchors.NumItems() {
		t.Fatalf("bundle %+v", b.Manifest)
	}
	fs := features.NewStore()
	for _, e := range es[len(es)-20000:] {
		fs.Apply(e)
	}
	live := fs.LiveRooms()
	if len(live) == 0 {
		t.Fatal("no live rooms at the end of the simulation")
	}
	var u ctr.User
	uf := fs.User("u_001")
	u.Reset(&uf, fs.Watermark())
	items := make([]ranker.ItemID, len(live))
	for i := range live {
		items[i] = -1
		if it, ok := b.Anchors.Item(live[i].MerchantID); ok {
			items[i] = it
		}
	}
	cf := make([]float64, len(live))
	ctr.CFScores(b.Anchors, ctr.History(b.Anchors, uf.Anchors, 50, nil), items, cf)
	p := make([]float64, len(live))
	b.CTR.Rooms.ScoreRooms(&u, live, nil, cf, p)
	for i := range p {
		if p[i] <= 0 || p[i] >= 1 {
			t.Errorf("room %s: P(enter) = %v", live[i].ID, p[i])
		}
	}

	// A second version replaces the first atomically; the first stays.
	o.Version = "v2"
	if _, err := train.Run(ctx, conn, o); err != nil {
		t.Fatal(err)
	}
	if dir, _ := train.Current(out); dir != filepath.Join(out, "v2") {
		t.Errorf("current = %s after v2", dir)
	}
	if err := st.LoadFile(filepath.Join(out, train.CurrentLink, train.AnchorsFile)); err != nil {
		t.Fatal(err)
	}
	if st.Model().Version != "v2" {
		t.Errorf("store holds %q after the swap", st.Model().Version)
	}
	if _, err := os.Stat(filepath.Join(out, "v1", train.ManifestFile)); err != nil {
		t.Error(err)
	}
	// The same version again is refused, and current is untouched.
	if _, err := train.Run(ctx, conn, o); err == nil {
		t.Error("a second v2 was written")
	}
}

func TestRunTooLittleData(t *testing.T) {
	conn, db := eventstest.Open(t)
	es := simulate(300, 30, 36*time.Hour)
	eventstest.Insert(t, conn, db, es[:100]) // the first moments: a few impressions, no interactions to speak of
	out := t.TempDir()
	_, err := train.Run(context.Background(), conn, train.Options{Database: db, From: simStart, To: simStart.Add(36 * time.Hour), Out: out, Log: slog.New(slog.DiscardHandler)})
	if !errors.Is(err, ranker.ErrTooLittleData) {
		t.Fatalf("err = %v, want ErrTooLittleData", err)
	}
	t.Log(err)
	if _, err := train.Current(out); !errors.Is(err, train.ErrNoCurrent) {
		t.Errorf("current after a failed run: %v", err)
	}
	entries, _ := os.ReadDir(out)
	if len(entries) != 0 {
		t.Errorf("a failed run left %d entries in %s", len(entries), out)
	}
}
