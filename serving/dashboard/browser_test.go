package dashboard_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/chromedp/chromedp"

	"github.com/tide-live/tide/features/fraud"
	"github.com/tide-live/tide/features/fraud/fraudch"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/serving"
	"github.com/tide-live/tide/serving/auth"
	"github.com/tide-live/tide/serving/dashboard"
	"github.com/tide-live/tide/serving/report"
	"github.com/tide-live/tide/serving/report/chreport"
	"github.com/tide-live/tide/serving/report/chreport/chtest"
)

const merchantKey = "tk_browser_test_m1"

// browser finds the headless Chromium scripts/browser.sh installs
// (TIDE_CHROMIUM overrides); without one the test is skipped, and fails
// under CI=true.
func browser(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("TIDE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium-headless-shell", "headless-shell", "chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no headless Chromium: run scripts/browser.sh (make test does)")
	}
	t.Skip("no headless Chromium; run scripts/browser.sh")
	return ""
}

// liveTraffic inserts events of merchant m1's room live1, session ls1, at a
// given time: viewers who enter and click a product, earlier viewers who
// leave, a chat, and paid orders, each inserted twice (a duplicate the page
// must not count).
type liveTraffic struct {
	conn    driver.Conn
	db      string
	mu      sync.Mutex
	seq     int
	viewers []string        // entered, not yet left, oldest first
	entered map[string]bool // every viewer who entered
}

func (l *liveTraffic) batch(ctx context.Context, at time.Time, enters, leaves, orders int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := at.UnixMilli()
	var evs []*tidev1.Event
	add := func(typ tidev1.EventType, user, product string, value int64) *tidev1.Event {
		l.seq++
		e := &tidev1.Event{EventId: fmt.Sprintf("b%d", l.seq), Type: typ, Ts: now, UserId: user,
			MerchantId: "m1", RoomId: "live1", LiveSessionId: "ls1", ProductId: product, Value: value}
		evs = append(evs, e)
		return e
	}
	for range enters {
		v := fmt.Sprintf("v%d", l.seq)
		add(tidev1.EventType_EVENT_TYPE_ROOM_ENTER, v, "", 0)
		add(tidev1.EventType_EVENT_TYPE_PRODUCT_CLICK, v, "sku-1", 0)
		l.viewers = append(l.viewers, v)
		if l.entered == nil {
			l.entered = map[string]bool{}
		}
		l.entered[v] = true
	}
	for range min(leaves, len(l.viewers)-1) {
		add(tidev1.EventType_EVENT_TYPE_ROOM_LEAVE, l.viewers[0], "", 60_000)
		l.viewers = l.viewers[1:]
	}
	for range orders {
		evs = append(evs, add(tidev1.EventType_EVENT_TYPE_ORDER_PAID, "buyer", "sku-1", 1990))
	}
	add(tidev1.EventType_EVENT_TYPE_CHAT, l.viewers[len(l.viewers)-1], "", 0)
	return chtest.Insert(ctx, l.conn, l.db, evs...)
}

// truth is what ClickHouse holds for the session, each event_id once and
// flagged accounts and devices left out:
// enters, viewers who entered and have not left, paid orders and GMV.
func (l *liveTraffic) truth(ctx context.Context) (enters, online, orders, gmv int64, err error) {
	var (
		e, o uint64
		in   int64
	)
	err = l.conn.QueryRow(ctx, `SELECT countIf(t = 'room_enter'),
    uniqExactIf(u, t = 'room_enter') - uniqExactIf(u, t = 'room_leave'), countIf(t = 'order_paid'), sumIf(v, t = 'order_paid')
FROM (SELECT event_id, any(type) AS t, any(value) AS v, any(user_id) AS u FROM `+l.db+`.events
      WHERE merchant_id = 'm1' AND live_session_id = 'ls1' AND `+fraudch.ExcludePredicate(l.db)+` GROUP BY event_id)`).Scan(&e, &in, &o, &gmv)
	return int64(e), in, int64(o), gmv, err
}

// grouped formats n as the page does (zh-CN digit groups).
func grouped(n int64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func yuan(fen int64) string { return fmt.Sprintf("¥%s.%02d", grouped(fen/100), fen%100) }

func TestDashboardInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test; -short")
	}
	exe := browser(t)
	conn, db := chtest.Database(t)
	ctx := context.Background()
	traffic := &liveTraffic{conn: conn, db: db}
	// A flagged account's enter and paid order, which no figure may show.
	if err := chtest.InsertFlags(ctx, conn, db, fraud.Flag{Kind: fraud.KindUser, ID: "bot1",
		Rule: fraud.RuleFreshFastBuy, Reason: "test", RoomID: "live1", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	bot := func(id string, typ tidev1.EventType, v int64) *tidev1.Event {
		return &tidev1.Event{EventId: id, Type: typ, Ts: time.Now().Add(-12 * time.Minute).UnixMilli(), UserId: "bot1",
			MerchantId: "m1", RoomId: "live1", LiveSessionId: "ls1", ProductId: "sku-1", Value: v}
	}
	if err := chtest.Insert(ctx, conn, db, bot("bot-enter", tidev1.EventType_EVENT_TYPE_ROOM_ENTER, 0),
		bot("bot-paid", tidev1.EventType_EVENT_TYPE_ORDER_PAID, 99_900)); err != nil {
		t.Fatal(err)
	}
	for m := 12; m >= 1; m-- { // the session so far, minute by minute
		if err := traffic.batch(ctx, time.Now().Add(-time.Duration(m)*time.Minute), 2+m%4, m%2, m%3/2); err != nil {
			t.Fatal(err)
		}
	}
	enters0, _, _, _, err := traffic.truth(ctx)
	if err != nil {
		t.Fatal(err)
	}

	store, err := chreport.New(conn, db)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := auth.ParseKeyFile(strings.NewReader(auth.HashAPIKey(merchantKey).String() + " merchant m1\n"))
	if err != nil {
		t.Fatal(err)
	}
	srv := serving.New()
	srv.Use(auth.NewInterceptor(auth.NewAuthenticator(nil, keys)))
	srv.Mount(report.NewHandler(store).Mount(srv.ConnectOptions()...))
	srv.Mount("/dashboard/", dashboard.Handler("/dashboard/"))
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()

	out := filepath.Join("testdata", "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	actx, cancelA := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU)...)
	defer cancelA()
	bctx, cancelB := chromedp.NewContext(actx)
	defer cancelB()
	bctx, cancelT := context.WithTimeout(bctx, 2*time.Minute)
	defer cancelT()
	text := func(sel string) string {
		s, err := chromedp.Run(bctx, chromedp.Evaluate[string](
			fmt.Sprintf(`(document.querySelector(%q) || {textContent: ""}).textContent`, sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	waitFor := func(what, js string, d time.Duration) {
		t.Helper()
		if _, err := chromedp.Run(bctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(d),
			chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
			t.Fatalf("waiting for %s: %v (page error: %q)", what, err, text("#error"))
		}
	}
	shot := func(name string) {
		png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	signIn := func(key string) {
		if err := chromedp.Do(bctx,
			chromedp.WaitVisible("#api-key"),
			chromedp.SetValue("#api-key", key),
			chromedp.Click("#signin-button"),
		); err != nil {
			t.Fatal(err)
		}
	}

	// A wrong key shows a clear error page.
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(hs.URL+"/dashboard/")); err != nil {
		t.Fatal(err)
	}
	signIn("tk_not_a_key")
	waitFor("the wrong-key error", `!!document.querySelector('#error')`, 10*time.Second)
	if got := text("#error-title"); got != "API Key 无效" {
		t.Errorf("wrong key error title = %q", got)
	}
	if msg := text("#error-message"); !strings.Contains(msg, "key") {
		t.Errorf("wrong key error message = %q", msg)
	}
	shot("wrong-key.png")

	// The right key: the rooms list, then the live room.
	signIn(merchantKey)
	waitFor("the rooms list", `!!document.querySelector('tr[data-room="live1"]')`, 10*time.Second)
	if err := chromedp.Do(bctx, chromedp.Navigate(hs.URL+"/dashboard/?poll=700#/live/live1")); err != nil {
		t.Fatal(err)
	}
	waitFor("the first figures", fmt.Sprintf(`document.querySelector('#enters') && document.querySelector('#enters').textContent === %q`, grouped(enters0)), 15*time.Second)
	if got := text("#live-tag"); got != "直播中" {
		t.Errorf("live tag = %q", got)
	}

	// Traffic flows while the page is open; the figures move without reload.
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		tick := time.NewTicker(300 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				done <- nil
				return
			case <-tick.C:
				if err := traffic.batch(ctx, time.Now(), 2, i%2, 1); err != nil {
					done <- err
					return
				}
			}
		}
	}()
	waitFor("the figures to change", fmt.Sprintf(`document.querySelector('#enters').textContent !== %q`, grouped(enters0)), 15*time.Second)
	time.Sleep(2 * time.Second)
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// Once traffic stops, the page shows exactly what ClickHouse holds.
	enters, online, orders, gmv, err := traffic.truth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"#enters": grouped(enters), "#online-now": grouped(online),
		"#orders": grouped(orders), "#gmv": yuan(gmv)}
	js := []string{}
	for sel, v := range want {
		js = append(js, fmt.Sprintf(`document.querySelector(%q).textContent === %q`, sel, v))
	}
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](strings.Join(js, " && "),
		chromedp.WithPollingTimeout(15*time.Second), chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
		got := map[string]string{}
		for sel := range want {
			got[sel] = text(sel)
		}
		t.Fatalf("page %v, ClickHouse %v: %v", got, want, err)
	}
	t.Logf("page matches ClickHouse: %v", want)
	if got := text("#orders-provisional"); got != "" {
		t.Errorf("orders are marked provisional: %q", got)
	}
	if got := text("#fraud-excluded"); !strings.Contains(got, "事件 2 /") || !strings.Contains(got, "观看人数 1 /") {
		t.Errorf("excluded share on the page = %q, want bot1's 2 events and 1 viewer", got)
	}
	if text("#top-clicks tr[data-product='sku-1'] td:nth-child(2)") != grouped(enters) {
		t.Errorf("top products by clicks: %q, want sku-1 with %d clicks", text("#top-clicks"), enters)
	}
	shot("live.png")
	// The same page on a phone.
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)), chromedp.Sleep(1500*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	shot("live-phone.png")

	// The session report agrees with ClickHouse too.
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(hs.URL+"/dashboard/#/session/ls1/live1")); err != nil {
		t.Fatal(err)
	}
	waitFor("the session report", `!!document.querySelector('#s-pv')`, 10*time.Second)
	if got := text("#s-pv"); got != grouped(enters) {
		t.Errorf("session report 场观 = %q, want %s", got, grouped(enters))
	}
	if got := text("#s-gmv"); got != yuan(gmv) {
		t.Errorf("session report GMV = %q, want %s", got, yuan(gmv))
	}
	shot("session.png")

	// The daily report: the row of today (Asia/Shanghai) agrees with ClickHouse.
	nowDay := chreport.ShanghaiDay(time.Now().UnixMilli())
	today := chreport.DayLabel(nowDay)
	if err := chromedp.Do(bctx, chromedp.Navigate(hs.URL+"/dashboard/#/daily/"+chreport.DayLabel(nowDay-1)+"/"+today)); err != nil {
		t.Fatal(err)
	}
	row := fmt.Sprintf(`#daily tr[data-date=%q]`, today)
	waitFor("the daily report", fmt.Sprintf(`!!document.querySelector(%q)`, row), 10*time.Second)
	day, err := dayTruth(ctx, conn, db, nowDay)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"gmv": yuan(day.gmv), "orders": grouped(day.orders), "pv": grouped(day.pv),
		"uv": grouped(day.uv), "refunds": grouped(day.refunds)} {
		if got := text(row + fmt.Sprintf(` td[data-k=%q]`, k)); got != want {
			t.Errorf("daily report %s %s = %q, ClickHouse %q", today, k, got, want)
		}
	}
	if got := text("#daily-fraud-excluded"); !strings.Contains(got, "事件 2 /") || !strings.Contains(got, "观看人数 1 /") {
		t.Errorf("daily excluded share = %q, want bot1's 2 events and 1 viewer", got)
	}
	shot("daily.png")
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)), chromedp.Sleep(1000*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	shot("daily-phone.png")
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatal(err)
	}

	// The A/B report: the viewers so far exposed to two arms, about one in
	// five to treat; the page shows what ClickHouse holds per arm and warns
	// of the broken split.
	var expos []*tidev1.Event
	arms := map[string]int64{}
	for i := range traffic.seq {
		u := fmt.Sprintf("v%d", i)
		if !entered(traffic, u) {
			continue
		}
		arm := "control"
		if i%5 == 0 {
			arm = "treat"
		}
		arms[arm]++
		expos = append(expos, &tidev1.Event{EventId: "x" + u, Type: tidev1.EventType_EVENT_TYPE_EXPERIMENT_EXPOSURE,
			Ts: time.Now().UnixMilli(), UserId: u, Experiments: map[string]string{"room_ranker": arm}})
		// the viewer saw m1's room card in a feed
		expos = append(expos, &tidev1.Event{EventId: "i" + u, Type: tidev1.EventType_EVENT_TYPE_ROOM_IMPRESSION,
			Ts: time.Now().UnixMilli(), UserId: u, MerchantId: "m1", RoomId: "live1", LiveSessionId: "ls1"})
	}
	if err := chtest.Insert(ctx, conn, db, expos...); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(bctx, chromedp.Navigate(hs.URL+"/dashboard/#/experiment"),
		chromedp.WaitVisible("#exp-name"), chromedp.SetValue("#exp-name", "room_ranker"),
		chromedp.Click("#exp-form button")); err != nil {
		t.Fatal(err)
	}
	waitFor("the A/B report", `!!document.querySelector('#arms')`, 10*time.Second)
	for arm, n := range arms {
		sel := fmt.Sprintf(`#arms tr[data-arm=%q] td:nth-child(2)`, arm)
		if got := text(sel); got != grouped(n) {
			t.Errorf("arm %s exposed users on the page = %q, want %d", arm, got, n)
		}
	}
	if srm := text("#srm"); !strings.Contains(srm, "样本比例失衡") {
		t.Errorf("a 4:1 split of %d viewers planned 1:1 shows no SRM warning: %q", arms["control"]+arms["treat"], srm)
	}
	shot("experiment.png")
	t.Logf("screenshots in %s", out)
}

// entered says whether viewer u entered the room in the traffic.
func entered(l *liveTraffic, u string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.entered[u]
}

// dayFigures are one Shanghai day's figures as ClickHouse holds them.
type dayFigures struct{ pv, uv, orders, gmv, refunds int64 }

// dayTruth is merchant m1's figures of Shanghai day d, computed on
// ClickHouse apart from the reports: each event_id once, flagged accounts
// and devices left out, viewers as the distinct people with a presence event.
func dayTruth(ctx context.Context, conn driver.Conn, db string, d int64) (dayFigures, error) {
	var pv, uv, orders, refunds uint64
	var f dayFigures
	err := conn.QueryRow(ctx, `SELECT countIf(t = 'room_enter'),
    uniqExactIf(u, t IN ('room_enter', 'room_leave', 'chat', 'like', 'gift', 'share', 'follow',
        'product_impression', 'product_click', 'add_to_cart')),
    countIf(t = 'order_paid'), sumIf(v, t = 'order_paid'), countIf(t = 'order_refunded')
FROM (SELECT event_id, any(type) AS t, any(value) AS v, any(ts) AS at,
        any(if(user_id != '', user_id, concat('d:', device_id))) AS u
      FROM `+db+`.events WHERE merchant_id = 'm1' AND `+fraudch.ExcludePredicate(db)+` GROUP BY event_id)
WHERE intDiv(at + 28800000, 86400000) = ?`, d).Scan(&pv, &uv, &orders, &f.gmv, &refunds)
	f.pv, f.uv, f.orders, f.refunds = int64(pv), int64(uv), int64(orders), int64(refunds)
	return f, err
}
