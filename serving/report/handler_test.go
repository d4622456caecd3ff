package report_test

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/proto/tide/v1/tidev1connect"
	"github.com/tide-live/tide/serving/auth"
	"github.com/tide-live/tide/serving/report"
	"github.com/tide-live/tide/serving/report/chreport"
	"github.com/tide-live/tide/serving/report/chreport/chtest"
)

// Credentials of the test server.
const (
	keyM1    = "tk_report_m1"
	keyM2    = "tk_report_m2"
	keyAdmin = "tk_report_admin"
)

// testServer serves ReportService over the fixture behind the real auth
// interceptor, and returns a client factory by credential.
func testServer(t *testing.T) func(cred string) tidev1connect.ReportServiceClient {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test; -short")
	}
	conn, db := chtest.Database(t)
	ctx := context.Background()
	if err := chtest.Insert(ctx, conn, db, chtest.Fixture()...); err != nil {
		t.Fatal(err)
	}
	now := chtest.FixtureStart.Add(5 * time.Minute)
	store, err := chreport.New(conn, db, chreport.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := auth.ParseKeyFile(strings.NewReader(
		auth.HashAPIKey(keyM1).String() + " merchant m1\n" +
			auth.HashAPIKey(keyM2).String() + " merchant m2\n" +
			auth.HashAPIKey(keyAdmin).String() + " admin\n"))
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := auth.NewTokens([]auth.SigningKey{{ID: "k", Secret: []byte(strings.Repeat("s", 32))}})
	if err != nil {
		t.Fatal(err)
	}
	h := report.NewHandler(store, report.WithClock(func() time.Time { return now }))
	mux := http.NewServeMux()
	mux.Handle(h.Mount(connect.WithInterceptors(auth.NewInterceptor(auth.NewAuthenticator(tokens, keys)))))
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	userToken, _, err := tokens.Issue(auth.UserIDFromOpenID("wxapp", "o-u1"))
	if err != nil {
		t.Fatal(err)
	}
	return func(cred string) tidev1connect.ReportServiceClient {
		if cred == "user" {
			cred = userToken
		}
		return tidev1connect.NewReportServiceClient(hs.Client(), hs.URL, connect.WithInterceptors(bearer(cred)))
	}
}

func bearer(cred string) connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			req.Header().Set("Authorization", "Bearer "+cred)
			return next(ctx, req)
		}
	}
}

// calls are every ReportService call about merchant m1's data, with the
// body's merchant_id set to named.
func calls(named string) map[string]func(context.Context, tidev1connect.ReportServiceClient) (any, error) {
	return map[string]func(context.Context, tidev1connect.ReportServiceClient) (any, error){
		"ListRoomSessions": func(ctx context.Context, c tidev1connect.ReportServiceClient) (any, error) {
			return c.ListRoomSessions(ctx, connect.NewRequest(&tidev1.ListRoomSessionsRequest{MerchantId: named}))
		},
		"LiveNow": func(ctx context.Context, c tidev1connect.ReportServiceClient) (any, error) {
			return c.LiveNow(ctx, connect.NewRequest(&tidev1.LiveNowRequest{MerchantId: named, RoomId: "r1"}))
		},
		"SessionReport": func(ctx context.Context, c tidev1connect.ReportServiceClient) (any, error) {
			return c.SessionReport(ctx, connect.NewRequest(&tidev1.SessionReportRequest{MerchantId: named, LiveSessionId: "s1"}))
		},
		"ProductReport": func(ctx context.Context, c tidev1connect.ReportServiceClient) (any, error) {
			return c.ProductReport(ctx, connect.NewRequest(&tidev1.ProductReportRequest{MerchantId: named, LiveSessionId: "s1"}))
		},
		"DailyReport": func(ctx context.Context, c tidev1connect.ReportServiceClient) (any, error) {
			return c.DailyReport(ctx, connect.NewRequest(&tidev1.DailyReportRequest{MerchantId: named, FromDate: "2026-12-01", ToDate: "2026-12-02"}))
		},
		"ExperimentReport": func(ctx context.Context, c tidev1connect.ReportServiceClient) (any, error) {
			return c.ExperimentReport(ctx, connect.NewRequest(&tidev1.ExperimentReportRequest{MerchantId: named, Experiment: "exp1",
				FromDate: "2026-12-01", ToDate: "2026-12-02"}))
		},
	}
}

// hasM1Data says whether a response shows anything of merchant m1.
func hasM1Data(resp any) bool {
	switch r := resp.(type) {
	case *connect.Response[tidev1.ListRoomSessionsResponse]:
		for _, room := range r.Msg.Rooms {
			if room.RoomId == "r1" {
				return true
			}
		}
	case *connect.Response[tidev1.LiveNowResponse]:
		return true
	case *connect.Response[tidev1.SessionReportResponse]:
		return true
	case *connect.Response[tidev1.ProductReportResponse]:
		return len(r.Msg.Products) > 0
	case *connect.Response[tidev1.DailyReportResponse]:
		var gmv int64 // m1's is 8000, m2's 99999
		for _, d := range r.Msg.Days {
			gmv += d.Metrics.GmvFen
		}
		return gmv == 8000
	case *connect.Response[tidev1.ExperimentReportResponse]:
		for _, a := range r.Msg.Arms {
			if a.Arm == "control" || a.Buyers > 0 {
				return true
			}
		}
	}
	return false
}

func TestTenancy(t *testing.T) {
	client := testServer(t)
	ctx := context.Background()
	for name, call := range calls("") {
		t.Run(name, func(t *testing.T) {
			// m1's own key sees its data.
			resp, err := call(ctx, client(keyM1))
			if err != nil || !hasM1Data(resp) {
				t.Fatalf("m1's key: %v (data %v)", err, hasM1Data(resp))
			}
			// m2's key gets nothing of m1's, or not_found.
			resp, err = call(ctx, client(keyM2))
			if err != nil && connect.CodeOf(err) != connect.CodeNotFound {
				t.Errorf("m2's key: %v", err)
			}
			if err == nil && hasM1Data(resp) {
				t.Errorf("m2's key saw m1's data: %v", resp)
			}
			// m2's key naming m1 in the body is refused.
			if _, err := calls("m1")[name](ctx, client(keyM2)); connect.CodeOf(err) != connect.CodePermissionDenied {
				t.Errorf("m2's key with merchant_id m1: %v, want permission_denied", err)
			}
			// a mini-program user is refused, with or without a merchant.
			for _, named := range []string{"", "m1"} {
				if _, err := calls(named)[name](ctx, client("user")); connect.CodeOf(err) != connect.CodePermissionDenied {
					t.Errorf("user token (merchant_id %q): %v, want permission_denied", named, err)
				}
			}
			// an admin names the merchant, and must.
			if resp, err := calls("m1")[name](ctx, client(keyAdmin)); err != nil || !hasM1Data(resp) {
				t.Errorf("admin for m1: %v", err)
			}
			if _, err := call(ctx, client(keyAdmin)); connect.CodeOf(err) != connect.CodeInvalidArgument {
				t.Errorf("admin without merchant_id: %v, want invalid_argument", err)
			}
			if _, err := call(ctx, client("tk_wrong")); connect.CodeOf(err) != connect.CodeUnauthenticated {
				t.Errorf("wrong key: %v, want unauthenticated", err)
			}
		})
	}
}

func TestExperimentReport(t *testing.T) {
	client := testServer(t)
	resp, err := client(keyM1).ExperimentReport(context.Background(), connect.NewRequest(&tidev1.ExperimentReportRequest{
		Experiment: "exp1", FromDate: "2026-12-01", ToDate: "2026-12-02"}))
	if err != nil {
		t.Fatal(err)
	}
	r := resp.Msg
	if len(r.Arms) != 2 || r.Arms[0].Arm != "control" || !r.Arms[0].Control || r.Arms[1].Arm != "treat" {
		t.Fatalf("arms = %v", r.Arms)
	}
	c, tr := r.Arms[0], r.Arms[1]
	if c.ExposedUsers != 2 || tr.ExposedUsers != 1 {
		t.Errorf("exposed %d / %d, want 2 / 1", c.ExposedUsers, tr.ExposedUsers)
	}
	// control: CTR 4/4, order rate 1/2, GMV per user 2500; treat: 1, 1, 3000.
	want := map[string][2]float64{"ctr": {1, 1}, "order_rate": {0.5, 1}, "gmv_per_user": {2500, 3000}}
	for i, m := range c.Metrics {
		w := want[m.Metric]
		if m.Value != w[0] || tr.Metrics[i].Value != w[1] {
			t.Errorf("%s = %v / %v, want %v", m.Metric, m.Value, tr.Metrics[i].Value, w)
		}
	}
	if l := tr.Metrics[1].Lift; l != 1 { // order rate 1 against 0.5
		t.Errorf("order rate lift = %v, want 1", l)
	}
	if g := tr.Metrics[2]; math.Abs(g.Lift-0.2) > 1e-9 || g.LiftLow >= g.Lift || g.LiftHigh <= g.Lift {
		t.Errorf("gmv lift = %v [%v, %v], want 0.2 inside its interval", g.Lift, g.LiftLow, g.LiftHigh)
	}
	if r.SampleRatio == nil || r.SampleRatio.Mismatch { // 2 against 1 is no evidence of a broken split
		t.Errorf("sample ratio = %v", r.SampleRatio)
	}
	_, err = client(keyM1).ExperimentReport(context.Background(), connect.NewRequest(&tidev1.ExperimentReportRequest{
		Experiment: "exp1", FromDate: "2026-12-01", ToDate: "2026-12-02", ExpectedWeights: map[string]float64{"control": 1}}))
	if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), "expected_weights") {
		t.Errorf("missing weight: %v", err)
	}
}

func TestInvalidArguments(t *testing.T) {
	client := testServer(t)(keyM1)
	ctx := context.Background()
	cases := map[string]struct {
		err   error
		field string
	}{}
	_, err := client.SessionReport(ctx, connect.NewRequest(&tidev1.SessionReportRequest{}))
	cases["no session"] = struct {
		err   error
		field string
	}{err, "live_session_id"}
	_, err = client.DailyReport(ctx, connect.NewRequest(&tidev1.DailyReportRequest{FromDate: "2026-12-01", ToDate: "12/02"}))
	cases["bad date"] = struct {
		err   error
		field string
	}{err, "to_date"}
	_, err = client.DailyReport(ctx, connect.NewRequest(&tidev1.DailyReportRequest{FromDate: "2026-01-01", ToDate: "2026-12-02"}))
	cases["long range"] = struct {
		err   error
		field string
	}{err, "to_date"}
	_, err = client.LiveNow(ctx, connect.NewRequest(&tidev1.LiveNowRequest{RoomId: "r1", WindowMinutes: 61}))
	cases["window"] = struct {
		err   error
		field string
	}{err, "window_minutes"}
	for name, c := range cases {
		var ce *connect.Error
		if !errors.As(c.err, &ce) || ce.Code() != connect.CodeInvalidArgument || !strings.Contains(ce.Message(), c.field) {
			t.Errorf("%s: %v, want invalid_argument naming %s", name, c.err, c.field)
		}
	}
	if _, err := client.SessionReport(ctx, connect.NewRequest(&tidev1.SessionReportRequest{LiveSessionId: "nope"})); connect.CodeOf(err) != connect.CodeNotFound {
		t.Errorf("unknown session: %v, want not_found", err)
	}
}
