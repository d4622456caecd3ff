package chreport_test

import (
	"context"
	"math"
	"testing"
	"time"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/serving/report/chreport"
	"github.com/tide-live/tide/serving/report/chreport/chtest"
)

// fixtureStore inserts chtest.Fixture (in two INSERTs, so the duplicates
// land in different parts and no merge has collapsed them) and returns a
// Store over it whose clock is five minutes after the session started.
func fixtureStore(t *testing.T) *chreport.Store {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test; -short")
	}
	conn, db := chtest.Database(t)
	ctx := context.Background()
	evs := chtest.Fixture()
	if err := chtest.Insert(ctx, conn, db, evs[:10]...); err != nil {
		t.Fatal(err)
	}
	if err := chtest.Insert(ctx, conn, db, evs[10:]...); err != nil {
		t.Fatal(err)
	}
	var dups uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM "+db+".events WHERE event_id IN ('e4', 'e14')").Scan(&dups); err != nil || dups != 4 {
		t.Fatalf("the duplicates are not in the table: %d rows (%v)", dups, err)
	}
	now := chtest.FixtureStart.Add(5 * time.Minute)
	s, err := chreport.New(conn, db, chreport.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestSessionReportHandComputed(t *testing.T) {
	s := fixtureStore(t)
	r, err := s.Session(context.Background(), "m1", "", "s1")
	if err != nil {
		t.Fatal(err)
	}
	m := r.Metrics
	// enters e4 (twice in the table), e5, e16 (late): 3 and 3 viewers; leaves
	// 150 s + 240 s over 3 viewers; u1 chatted, u2 liked and followed.
	ints := []struct {
		name      string
		got, want int64
	}{
		{"page_views", m.PageViews, 3}, {"unique_viewers", m.UniqueViewers, 3},
		{"new_followers", m.NewFollowers, 1}, {"chats", m.Chats, 1}, {"likes", m.Likes, 5},
		// e14 (5000, twice in the table) and e19 (3000)
		{"gmv_fen", m.GmvFen, 8000}, {"orders", m.Orders, 2}, {"buyers", m.Buyers, 2},
		{"refunds", m.Refunds, 1}, {"refund_fen", m.RefundFen, 2000},
		// online at the end of each minute: 2, 2, 2, 3 (u3 in; u2's leave
		// is not final, u2 clicks a product in the room after it), 2 (u1 out)
		{"peak_concurrent", m.PeakConcurrent, 3},
		{"started_at", r.StartedAt, chtest.FixtureStart.UnixMilli()},
		{"ended_at", r.EndedAt, chtest.FixtureStart.UnixMilli() + 260_000},
	}
	for _, c := range ints {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	floats := []struct {
		name      string
		got, want float64
	}{
		{"avg_concurrent", m.AvgConcurrent, 11.0 / 5}, {"avg_watch_seconds", m.AvgWatchSeconds, 390.0 / 3},
		{"interaction_rate", m.InteractionRate, 2.0 / 3}, {"avg_order_value_fen", m.AvgOrderValueFen, 4000},
		{"gpm_fen", m.GpmFen, 8000.0 * 1000 / 3}, {"uv_value_fen", m.UvValueFen, 8000.0 / 3},
	}
	for _, c := range floats {
		if !near(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	wantFunnel := []struct {
		step  string
		users int64
		rate  float64
	}{
		{"room_impression", 3, 0}, {"room_enter", 3, 1}, {"product_impression", 2, 2.0 / 3},
		{"product_click", 2, 1}, {"add_to_cart", 1, 0.5}, {"order_created", 1, 1}, {"order_paid", 2, 2},
	}
	if len(m.Funnel) != len(wantFunnel) {
		t.Fatalf("funnel has %d steps", len(m.Funnel))
	}
	for i, w := range wantFunnel {
		f := m.Funnel[i]
		if f.Step != w.step || f.Users != w.users || !near(f.RateFromPrevious, w.rate) || f.Label == "" {
			t.Errorf("funnel[%d] = %v, want %+v", i, f, w)
		}
	}
	if !r.OrdersSource.GetProvisional() {
		t.Error("orders are not marked provisional")
	}
	if _, err := s.Session(context.Background(), "m1", "", "s2"); err == nil {
		t.Error("m1 got m2's session s2")
	}
	withRoom, err := s.Session(context.Background(), "m1", "r1", "s1")
	if err != nil || withRoom.Metrics.GmvFen != m.GmvFen || withRoom.Metrics.PeakConcurrent != m.PeakConcurrent {
		t.Errorf("with its room: %v, %v", withRoom, err)
	}
	if _, err := s.Session(context.Background(), "m1", "r2", "s1"); err == nil {
		t.Error("s1 found in room r2")
	}
}

func TestDailyReportShanghaiDays(t *testing.T) {
	s := fixtureStore(t)
	d1 := chreport.ShanghaiDay(chtest.FixtureStart.UnixMilli())
	days, err := s.Daily(context.Background(), "m1", "", d1-1, d1+1)
	if err != nil {
		t.Fatal(err)
	}
	if len(days) != 3 || days[0].Date != "2026-11-30" || days[1].Date != "2026-12-01" || days[2].Date != "2026-12-02" {
		t.Fatalf("days = %v", days)
	}
	// 12-01 (Shanghai) is 23:58–23:59: the two first enters, chat, like,
	// follow; 12-02 from 00:00 (still 16:00 UTC on 12-01): u3's enter, both
	// paid orders, the refund, and u1, u2 still in the room (online 2, 3, 2
	// carried over midnight).
	want := []struct {
		pv, uv, gmv, orders, refunds, peak int64
		avg                                float64
	}{
		{0, 0, 0, 0, 0, 0, 0},
		{2, 2, 0, 0, 0, 2, 2},
		{1, 3, 8000, 2, 1, 3, 7.0 / 3},
	}
	for i, w := range want {
		m := days[i].Metrics
		if m.PageViews != w.pv || m.UniqueViewers != w.uv || m.GmvFen != w.gmv || m.Orders != w.orders ||
			m.Refunds != w.refunds || m.PeakConcurrent != w.peak || !near(m.AvgConcurrent, w.avg) {
			t.Errorf("%s: %+v, want %+v", days[i].Date, m, w)
		}
	}
	if days[1].Metrics.Likes != 5 || days[1].Metrics.NewFollowers != 1 || days[2].Metrics.Likes != 0 {
		t.Errorf("likes/follows on the wrong day: %v / %v", days[1].Metrics, days[2].Metrics)
	}
}

func TestProductsHandComputed(t *testing.T) {
	s := fixtureStore(t)
	ps, err := s.Products(context.Background(), chreport.Scope{MerchantID: "m1", SessionID: "s1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[0].ProductId != "p1" || ps[1].ProductId != "p2" {
		t.Fatalf("products = %v", ps)
	}
	p1, p2 := ps[0], ps[1]
	if p1.ImpressionUsers != 2 || p1.ClickUsers != 1 || p1.CartUsers != 1 || p1.OrderUsers != 1 || p1.Buyers != 1 ||
		p1.Clicks != 1 || p1.Orders != 1 || p1.GmvFen != 5000 || p1.Refunds != 1 || p1.RefundFen != 2000 {
		t.Errorf("p1 = %v", p1)
	}
	if p2.ImpressionUsers != 0 || p2.ClickUsers != 1 || p2.Buyers != 1 || p2.GmvFen != 3000 || p2.Refunds != 0 {
		t.Errorf("p2 = %v", p2)
	}
	if len(p1.Funnel) != 5 || p1.Funnel[0].Step != "product_impression" || !near(p1.Funnel[1].RateFromPrevious, 0.5) {
		t.Errorf("p1 funnel = %v", p1.Funnel)
	}
}

func TestLiveNowAndRooms(t *testing.T) {
	s := fixtureStore(t)
	ctx := context.Background()
	ln, err := s.LiveNow(ctx, "m1", "r1", 2)
	if err != nil {
		t.Fatal(err)
	}
	if ln.LiveSessionId != "s1" || !ln.Live || ln.OnlineNow != 2 || ln.GmvFen != 8000 || ln.Orders != 2 ||
		ln.Enters != 3 || ln.NewFollowers != 1 || len(ln.Minutes) != 5 {
		t.Fatalf("LiveNow = %v", ln)
	}
	online := []int64{2, 2, 2, 3, 2}
	for i, p := range ln.Minutes {
		if p.Online != online[i] || p.Minute != chtest.FixtureStart.UnixMilli()+int64(i)*60_000 {
			t.Errorf("minute %d = %v, want online %d", i, p, online[i])
		}
	}
	// last 2 minutes (3, 4) against minutes 1, 2
	want := map[string][2]float64{"enters": {1, 0}, "gmv_fen": {3000, 5000}, "orders": {1, 1}, "online": {2, 2}, "chats": {0, 1}}
	got := map[string]*tidev1.WindowFigure{}
	for _, f := range ln.Window {
		got[f.Name] = f
	}
	for name, w := range want {
		f := got[name]
		if f == nil || f.Last != w[0] || f.Previous != w[1] {
			t.Errorf("window %s = %v, want last %v previous %v", name, f, w[0], w[1])
		}
	}
	if g := got["gmv_fen"]; g != nil && !near(g.Change, -0.4) {
		t.Errorf("gmv change = %v, want -0.4", g.Change)
	}
	if len(ln.TopByClicks) != 2 || ln.TopByClicks[0].ProductId != "p1" || len(ln.TopByGmv) != 2 ||
		ln.TopByGmv[0].ProductId != "p1" || ln.TopByGmv[0].GmvFen != 5000 || ln.TopByGmv[1].GmvFen != 3000 {
		t.Errorf("top = %v / %v", ln.TopByClicks, ln.TopByGmv)
	}
	if _, err := s.LiveNow(ctx, "m1", "r2", 2); err == nil {
		t.Error("m1 got the dashboard of m2's room r2")
	}
	rooms, err := s.Rooms(ctx, "m1")
	if err != nil {
		t.Fatal(err)
	}
	if len(rooms) != 1 || rooms[0].RoomId != "r1" || rooms[0].LiveSessionId != "s1" || rooms[0].UniqueViewers != 3 || !rooms[0].Live {
		t.Errorf("rooms = %v", rooms)
	}
}

func TestExperimentSums(t *testing.T) {
	s := fixtureStore(t)
	d := chreport.ShanghaiDay(chtest.FixtureStart.UnixMilli())
	arms, err := s.Experiment(context.Background(),
		chreport.Scope{MerchantID: "m1", From: chreport.DayStart(d - 1), To: chreport.DayStart(d + 2)}, "exp1")
	if err != nil {
		t.Fatal(err)
	}
	// control: u1 (imp 2, clicks 2, bought 5000), u2 (imp 2, clicks 2);
	// treat: u3 (imp 1, click 1, bought 3000); u4 saw only m2's room.
	want := []chreport.ArmSums{
		{Arm: "control", Users: 2, Impressions: 4, Clicks: 4, ImpSq: 8, ClickSq: 8, ClickImp: 8, Buyers: 1, GMV: 5000, GMVSq: 25e6},
		{Arm: "treat", Users: 1, Impressions: 1, Clicks: 1, ImpSq: 1, ClickSq: 1, ClickImp: 1, Buyers: 1, GMV: 3000, GMVSq: 9e6},
	}
	if len(arms) != 2 || arms[0] != want[0] || arms[1] != want[1] {
		t.Errorf("arms = %+v\nwant %+v", arms, want)
	}
}
