package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

const (
	testAppID  = "wx0123456789abcdef"
	testSecret = "app-secret-never-logged"
)

// fakeWeChat serves code2session as WeChat documents it: text/plain JSON,
// HTTP 200 even for errors, errcode absent on success. Codes:
// "good-<name>" → openid "openid-<name>"; "invalid" → 40029; "used" → 40163;
// "limited" → 45011; "busy" → -1; "risky" → 40226; "http500" → HTTP 500;
// "garbage" → not JSON.
func fakeWeChat(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		q := r.URL.Query()
		if r.Method != http.MethodGet || r.URL.Path != "/sns/jscode2session" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		if q.Get("appid") != testAppID || q.Get("secret") != testSecret || q.Get("grant_type") != "authorization_code" {
			fmt.Fprint(w, `{"errcode":40013,"errmsg":"invalid appid"}`)
			return
		}
		code := q.Get("js_code")
		switch {
		case strings.HasPrefix(code, "good-"):
			name := strings.TrimPrefix(code, "good-")
			fmt.Fprintf(w, `{"session_key":"SESSIONKEY-%s","openid":"openid-%s","unionid":"union-%s"}`, name, name, name)
		case code == "invalid":
			fmt.Fprint(w, `{"errcode":40029,"errmsg":"invalid code, rid: 6752f1a0-1b2c3d4e"}`)
		case code == "used":
			fmt.Fprint(w, `{"errcode":40163,"errmsg":"code been used, rid: 6752f1a0-1b2c3d4f"}`)
		case code == "limited":
			fmt.Fprint(w, `{"errcode":45011,"errmsg":"api minute-quota reach limit  mustslower  retry next minute"}`)
		case code == "busy":
			fmt.Fprint(w, `{"errcode":-1,"errmsg":"system error"}`)
		case code == "risky":
			fmt.Fprint(w, `{"errcode":40226,"errmsg":"invalid user"}`)
		case code == "http500":
			http.Error(w, "upstream broke", http.StatusInternalServerError)
		case code == "garbage":
			fmt.Fprint(w, `<html>gateway</html>`)
		default:
			fmt.Fprint(w, `{"errcode":40029,"errmsg":"invalid code"}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func TestCode2Session(t *testing.T) {
	fake, _ := fakeWeChat(t)
	wx := NewWeChat(testAppID, testSecret, WithWeChatBaseURL(fake.URL+"/"))
	ctx := context.Background()

	s, err := wx.Code2Session(ctx, "good-alice")
	if err != nil {
		t.Fatal(err)
	}
	if s != (WeChatSession{OpenID: "openid-alice", UnionID: "union-alice", SessionKey: "SESSIONKEY-alice"}) {
		t.Errorf("session = %+v", s)
	}

	for code, want := range map[string]int{"invalid": WeChatInvalidCode, "used": WeChatCodeUsed,
		"limited": WeChatRateLimited, "busy": WeChatSystemBusy, "risky": WeChatHighRisk} {
		_, err := wx.Code2Session(ctx, code)
		var we *WeChatError
		if !errors.As(err, &we) || we.Code != want {
			t.Errorf("code %s: err = %v, want errcode %d", code, err, want)
		}
	}
	for _, code := range []string{"http500", "garbage"} {
		_, err := wx.Code2Session(ctx, code)
		var we *WeChatError
		if err == nil || errors.As(err, &we) {
			t.Errorf("code %s: err = %v, want a non-WeChat error", code, err)
		}
	}

	wrong := NewWeChat(testAppID, "wrong-secret", WithWeChatBaseURL(fake.URL))
	if _, err := wrong.Code2Session(ctx, "good-alice"); err == nil || !strings.Contains(err.Error(), "40013") {
		t.Errorf("wrong secret: err = %v, want errcode 40013", err)
	}
}

func TestCode2SessionUnreachableHidesSecret(t *testing.T) {
	fake, _ := fakeWeChat(t)
	url := fake.URL
	fake.Close()
	_, err := NewWeChat(testAppID, testSecret, WithWeChatBaseURL(url)).Code2Session(context.Background(), "good-a")
	if err == nil {
		t.Fatal("no error from a closed server")
	}
	if strings.Contains(err.Error(), testSecret) {
		t.Errorf("error reveals the app secret: %v", err)
	}
}
