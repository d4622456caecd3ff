package aliyun_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tide-live/tide/live/stream"
	"github.com/tide-live/tide/live/stream/aliyun"
	"github.com/tide-live/tide/live/stream/refused"
	"github.com/tide-live/tide/live/stream/refused/refusedtest"
	"github.com/tide-live/tide/live/stream/sinktest"
)

var clock = time.Unix(1519376000, 0)

func testConfig() aliyun.Config {
	return aliyun.Config{
		PushDomain: "push.example.com", PlayDomain: "play.example.com",
		PushKey: "aliPushKey123", PlayKey: "aliPlayKey456",
		CallbackKey: "yourkey", CallbackDomain: "learn.aliyundoc.com",
		AccessKeyID: "LTAItest", AccessKeySecret: "alisecret",
	}
}

// TestAuthKeyVectors checks auth_key type A against both aliyun_typeA
// vectors of test-vectors.md.
func TestAuthKeyVectors(t *testing.T) {
	huawei := aliyun.AuthKey("/livetest/huawei1.flv", "GCTbw44s6MPLh4GqgDpnfuFHgy25Enly", 1592639100, "477b3bbc253f467b8def6711128c7bec", "0")
	if want := "1592639100-477b3bbc253f467b8def6711128c7bec-0-dd1b5ffa00cf26acec0c169ae1cfabea"; huawei != want {
		t.Errorf("AuthKey(huawei) = %s, want %s", huawei, want)
	}
	p, err := aliyun.New(testConfig(), aliyun.WithRand(func() string { return "0" }))
	if err != nil {
		t.Fatal(err)
	}
	push, err := p.PushURL("room42", time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	if want := "rtmp://push.example.com/live/room42?auth_key=1700000000-0-0-e414361b8d44ca00b80b4e109e2f265b"; push != want {
		t.Errorf("PushURL = %s, want %s", push, want)
	}
}

func TestPullURLsSignEachPath(t *testing.T) {
	p, err := aliyun.New(testConfig(), aliyun.WithRand(func() string { return "r1" }))
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Unix(1700000000, 0)
	pull, err := p.PullURLs("room42", exp)
	if err != nil {
		t.Fatal(err)
	}
	for raw, path := range map[string]string{pull.FLV: "/live/room42.flv", pull.HLS: "/live/room42.m3u8", pull.RTMP: "/live/room42"} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		want := aliyun.AuthKey(path, "aliPlayKey456", 1700000000, "r1", "0")
		if u.Host != "play.example.com" || u.Path != path || u.Query().Get("auth_key") != want {
			t.Errorf("%s: want path %s with auth_key %s", raw, path, want)
		}
	}
}

func TestCallbackSignatureVector(t *testing.T) {
	if got := aliyun.CallbackSignature("learn.aliyundoc.com", 1519375990, "yourkey"); got != "9e226fc2c250be266e3657e156f68c12" {
		t.Fatalf("CallbackSignature = %s", got)
	}
}

func callback(h http.Handler, action string, ts int64, sig string) int {
	q := url.Values{"action": {action}, "ip": {"10.0.0.1"}, "id": {"room42"}, "app": {"push.example.com"},
		"appname": {"live"}, "time": {strconv.FormatInt(ts, 10)}, "usrargs": {"auth_key=x"}, "node": {"cdnvideocenter"}}
	r := httptest.NewRequest(http.MethodGet, "/live/callback/aliyun?"+q.Encode(), nil)
	if ts != 0 {
		r.Header.Set("ALI-LIVE-TIMESTAMP", strconv.FormatInt(ts, 10))
	}
	if sig != "" {
		r.Header.Set("ALI-LIVE-SIGNATURE", sig)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code
}

func TestCallbacks(t *testing.T) {
	reg := prometheus.NewRegistry()
	c, err := refused.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	p, err := aliyun.New(testConfig(), aliyun.WithClock(func() time.Time { return clock }), aliyun.WithRefusedCounter(c))
	if err != nil {
		t.Fatal(err)
	}
	sink := &sinktest.Recorder{}
	h := p.Callbacks(sink)
	const ts = 1519375990 // the vector's timestamp, 10 s before the test clock
	good := "9e226fc2c250be266e3657e156f68c12"
	for range 2 { // Aliyun retries an unanswered callback with the same query
		if code := callback(h, "publish", ts, good); code != http.StatusOK {
			t.Fatalf("publish: %d", code)
		}
	}
	if code := callback(h, "publish_done", ts+5, aliyun.CallbackSignature("learn.aliyundoc.com", ts+5, "yourkey")); code != http.StatusOK {
		t.Fatalf("publish_done: %d", code)
	}
	refusals := []struct {
		name string
		ts   int64
		sig  string
		code int
	}{
		{"forged", ts, aliyun.CallbackSignature("learn.aliyundoc.com", ts, "other"), http.StatusForbidden},
		{"signature of another timestamp", ts + 1, good, http.StatusForbidden},
		{"expired", clock.Unix() - 3600, aliyun.CallbackSignature("learn.aliyundoc.com", clock.Unix()-3600, "yourkey"), http.StatusForbidden},
		{"no signature", ts, "", http.StatusBadRequest},
	}
	for _, r := range refusals {
		if code := callback(h, "publish", r.ts, r.sig); code != r.code {
			t.Errorf("%s: %d, want %d", r.name, code, r.code)
		}
	}
	all, applied := sink.All(), sink.Applied()
	if len(all) != 3 || len(applied) != 2 || all[0].ID != all[1].ID {
		t.Fatalf("sink got %+v; want a publish (retried, one ID) and a disconnect", all)
	}
	if applied[0].Kind != stream.KindPublish || applied[0].Stream != "room42" || !applied[0].At.Equal(time.Unix(ts, 0)) {
		t.Errorf("publish = %+v", applied[0])
	}
	if applied[1].Kind != stream.KindDisconnect || applied[1].Blip {
		t.Errorf("disconnect = %+v", applied[1])
	}
	got := refusedtest.Gather(t, reg)
	for k, v := range map[string]float64{"aliyun/forged": 2, "aliyun/expired": 1, "aliyun/malformed": 1} {
		if got[k] != v {
			t.Errorf("refused %s = %v, want %v (all %v)", k, got[k], v, got)
		}
	}
}

// TestSignRPCPublishedExample checks the signer against the worked example
// of Aliyun's RPC signature v1 documentation (DescribeRegions, secret
// "testsecret").
func TestSignRPCPublishedExample(t *testing.T) {
	q := url.Values{
		"AccessKeyId": {"testid"}, "Action": {"DescribeRegions"}, "Format": {"XML"},
		"SignatureMethod": {"HMAC-SHA1"}, "SignatureNonce": {"3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"},
		"SignatureVersion": {"1.0"}, "Timestamp": {"2016-02-23T12:46:24Z"}, "Version": {"2014-05-26"},
	}
	if got := aliyun.SignRPC("GET", q, "testsecret"); got != "OLeaidS1JvxuMvnyHOwuJ+uX5qY=" {
		t.Fatalf("SignRPC = %s, want OLeaidS1JvxuMvnyHOwuJ+uX5qY=", got)
	}
}

// fakeLiveAPI is a local live.aliyuncs.com that re-signs each request's query
// with the (vector-checked) signer and records verified calls.
type fakeLiveAPI struct {
	secret string
	mu     sync.Mutex
	calls  []url.Values
}

func (f *fakeLiveAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ts, err := time.Parse("2006-01-02T15:04:05Z", q.Get("Timestamp"))
	if q.Get("Signature") != aliyun.SignRPC(r.Method, q, f.secret) || err != nil || time.Since(ts).Abs() > 5*time.Minute ||
		q.Get("SignatureNonce") == "" || q.Get("Version") != "2016-11-01" {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"Code":"SignatureDoesNotMatch","Message":"bad signature","RequestId":"fake"}`))
		return
	}
	f.mu.Lock()
	f.calls = append(f.calls, q)
	f.mu.Unlock()
	_, _ = w.Write([]byte(`{"RequestId":"fake-ok"}`))
}

func TestControlAgainstFake(t *testing.T) {
	fake := &fakeLiveAPI{secret: "alisecret"}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	p, err := aliyun.New(testConfig(), aliyun.WithAPIEndpoint(srv.URL+"/", srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, call := range []func() error{
		func() error { return p.Drop(ctx, "room42") },
		func() error { return p.Forbid(ctx, "room42", "moderation") },
		func() error { return p.Resume(ctx, "room42") },
	} {
		if err := call(); err != nil {
			t.Fatal(err)
		}
	}
	want := []struct{ action, oneshot string }{{"ForbidLiveStream", "yes"}, {"ForbidLiveStream", ""}, {"ResumeLiveStream", ""}}
	if len(fake.calls) != len(want) {
		t.Fatalf("fake verified %d calls, want %d", len(fake.calls), len(want))
	}
	for i, w := range want {
		q := fake.calls[i]
		if q.Get("Action") != w.action || q.Get("Oneshot") != w.oneshot || q.Get("StreamName") != "room42" ||
			q.Get("DomainName") != "push.example.com" || q.Get("AppName") != "live" || q.Get("LiveStreamType") != "publisher" {
			t.Errorf("call %d = %v, want %s oneshot=%q", i, q, w.action, w.oneshot)
		}
	}
	bad := testConfig()
	bad.AccessKeySecret = "wrong"
	q, err := aliyun.New(bad, aliyun.WithAPIEndpoint(srv.URL+"/", srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Drop(ctx, "room42"); err == nil || !strings.Contains(err.Error(), "SignatureDoesNotMatch") {
		t.Fatalf("Drop with a wrong secret: %v", err)
	}
}

func TestRefusedPushIsDropped(t *testing.T) {
	fake := &fakeLiveAPI{secret: "alisecret"}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	p, err := aliyun.New(testConfig(), aliyun.WithAPIEndpoint(srv.URL+"/", srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	sink := &sinktest.Recorder{Decide: func(stream.Signal) stream.Decision { return stream.Decision{Reason: "unknown stream"} }}
	ts := time.Now().Unix()
	if code := callback(p.Callbacks(sink), "publish", ts, aliyun.CallbackSignature("learn.aliyundoc.com", ts, "yourkey")); code != http.StatusOK {
		t.Fatalf("publish: %d", code)
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		fake.mu.Lock()
		n := len(fake.calls)
		fake.mu.Unlock()
		if n == 1 {
			if q := fake.calls[0]; q.Get("Action") != "ForbidLiveStream" || q.Get("Oneshot") != "yes" {
				t.Fatalf("call = %v, want a one-shot ForbidLiveStream", q)
			}
			return
		}
	}
	t.Fatal("a push the sink refused was not dropped")
}
