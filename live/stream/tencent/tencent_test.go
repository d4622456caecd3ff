package tencent_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tide-live/tide/live/stream/tencent"
)

func testConfig() tencent.Config {
	return tencent.Config{
		PushDomain: "push.example.com", PlayDomain: "play.example.com",
		PushKey: "e12c46f2612d5106e2034781ab261ca3", PlayKey: "playkey456", CallbackKey: "key123",
		SecretID: "AKIDtest", SecretKey: "tc3secret",
	}
}

// TestPushURLVector checks txSecret against test-vectors.md (doc 267/31560).
func TestPushURLVector(t *testing.T) {
	if got := tencent.TxSecret("e12c46f2612d5106e2034781ab261ca3", "test", "5C271099"); got != "f85a2ab363fe4deaffef9754d79da6fe" {
		t.Fatalf("TxSecret = %s", got)
	}
	p, err := tencent.New(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	expires := time.Unix(0x5C271099, 0)
	if got := tencent.TxTime(expires); got != "5C271099" {
		t.Fatalf("TxTime = %s", got)
	}
	push, err := p.PushURL("test", expires)
	if err != nil {
		t.Fatal(err)
	}
	want := "rtmp://push.example.com/live/test?txSecret=f85a2ab363fe4deaffef9754d79da6fe&txTime=5C271099"
	if push != want {
		t.Fatalf("PushURL = %s, want %s", push, want)
	}
	if _, err := p.PushURL("a/b", expires); err == nil {
		t.Fatal("PushURL accepted a stream name with a slash")
	}
}

func TestPullURLsSignedWithPlayKey(t *testing.T) {
	p, err := tencent.New(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	expires := time.Unix(0x5C271099, 0)
	pull, err := p.PullURLs("room42", expires)
	if err != nil {
		t.Fatal(err)
	}
	secret := tencent.TxSecret("playkey456", "room42", "5C271099")
	for name, raw := range map[string]string{"flv": pull.FLV, "hls": pull.HLS, "rtmp": pull.RTMP} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if u.Host != "play.example.com" || !strings.HasPrefix(u.Path, "/live/room42") {
			t.Errorf("%s = %s: wrong host or path", name, raw)
		}
		if u.Query().Get("txSecret") != secret || u.Query().Get("txTime") != "5C271099" {
			t.Errorf("%s = %s: want txSecret %s signed with the play key", name, raw, secret)
		}
	}
	if !strings.HasSuffix(strings.SplitN(pull.FLV, "?", 2)[0], ".flv") || !strings.HasSuffix(strings.SplitN(pull.HLS, "?", 2)[0], ".m3u8") {
		t.Errorf("FLV %s / HLS %s: wrong suffixes", pull.FLV, pull.HLS)
	}
	if !pull.Expires.Equal(expires) {
		t.Errorf("Expires = %v", pull.Expires)
	}
}

// TestControlAPISignedTC3 sends Drop/Forbid/Resume through the SDK to a fake
// that verifies the TC3 signature with the published formula.
func TestControlAPISignedTC3(t *testing.T) {
	cfg := testConfig()
	api := newFakeAPI(t, cfg.SecretID, cfg.SecretKey)
	p, err := tencent.New(cfg, tencent.WithAPIEndpoint("HTTP", api.endpoint()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := p.Drop(ctx, "room42"); err != nil {
		t.Fatalf("Drop: %v", err)
	}
	if err := p.Forbid(ctx, "room42", "moderation: porn"); err != nil {
		t.Fatalf("Forbid: %v", err)
	}
	if err := p.Resume(ctx, "room42"); err != nil {
		t.Fatalf("Resume: %v", err)
	}
	calls, fails := api.recorded()
	if fails != 0 || len(calls) != 3 {
		t.Fatalf("fake saw %d verified calls and %d signature failures, want 3 and 0", len(calls), fails)
	}
	for i, action := range []string{"DropLiveStream", "ForbidLiveStream", "ResumeLiveStream"} {
		c := calls[i]
		if c.Action != action || c.Params["StreamName"] != "room42" || c.Params["AppName"] != "live" || c.Params["DomainName"] != "push.example.com" {
			t.Errorf("call %d = %+v, want %s of room42 on push.example.com/live", i, c, action)
		}
	}
	if calls[1].Params["Reason"] != "moderation: porn" {
		t.Errorf("Forbid reason = %v", calls[1].Params["Reason"])
	}

	// a wrong secret key fails the fake's check and surfaces as an error
	bad := cfg
	bad.SecretKey = "not-the-key"
	q, err := tencent.New(bad, tencent.WithAPIEndpoint("HTTP", api.endpoint()))
	if err != nil {
		t.Fatal(err)
	}
	err = q.Drop(ctx, "room42")
	if err == nil || !strings.Contains(err.Error(), "AuthFailure.SignatureFailure") {
		t.Fatalf("Drop with a wrong key: err = %v, want AuthFailure.SignatureFailure", err)
	}
	if _, fails := api.recorded(); fails != 1 {
		t.Fatalf("fake counted %d signature failures, want 1", fails)
	}
}
