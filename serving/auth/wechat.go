package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultWeChatBaseURL is where code2session lives.
const DefaultWeChatBaseURL = "https://api.weixin.qq.com"

// code2session error codes WeChat documents (errcode in its JSON answer).
const (
	WeChatSystemBusy  = -1    // try again later
	WeChatInvalidCode = 40029 // the code is invalid (or for another app)
	WeChatRateLimited = 45011 // more than 100 calls a minute for one user
	WeChatCodeUsed    = 40163 // the code was already exchanged
	WeChatHighRisk    = 40226 // the user is blocked as high-risk
)

// WeChatSession is what code2session returns for a wx.login code. SessionKey
// is the key WeChat shares with this server to decrypt the user's data; it
// never leaves the server (it is not in tide's session token).
type WeChatSession struct {
	OpenID     string
	UnionID    string // empty unless the app is bound to an Open Platform account
	SessionKey string
}

// WeChatError is a non-zero errcode from WeChat.
type WeChatError struct {
	Code int
	Msg  string
}

// Error implements error.
func (e *WeChatError) Error() string { return fmt.Sprintf("wechat errcode %d: %s", e.Code, e.Msg) }

// CodeExchanger turns a wx.login code into the user's WeChat session; WeChat
// is one, tests use fakes.
type CodeExchanger interface {
	Code2Session(ctx context.Context, code string) (WeChatSession, error)
}

// WeChat calls WeChat's code2session endpoint for one mini-program.
type WeChat struct {
	appID, secret string
	base          string
	client        *http.Client
}

// WeChatOption configures WeChat.
type WeChatOption func(*WeChat)

// WithWeChatBaseURL points at another code2session server (a fake in tests,
// a proxy in production); default DefaultWeChatBaseURL.
func WithWeChatBaseURL(u string) WeChatOption {
	return func(w *WeChat) { w.base = strings.TrimRight(u, "/") }
}

// WithHTTPClient sets the HTTP client (default: one with a 5s timeout).
func WithHTTPClient(c *http.Client) WeChatOption { return func(w *WeChat) { w.client = c } }

// NewWeChat is the code2session client for the mini-program appID with its
// AppSecret.
func NewWeChat(appID, secret string, opts ...WeChatOption) *WeChat {
	w := &WeChat{appID: appID, secret: secret, base: DefaultWeChatBaseURL,
		client: &http.Client{Timeout: 5 * time.Second}}
	for _, o := range opts {
		o(w)
	}
	return w
}

// AppID is the mini-program's app id.
func (w *WeChat) AppID() string { return w.appID }

// Code2Session exchanges code. A non-zero errcode comes back as a
// *WeChatError; transport failures and malformed answers as other errors.
func (w *WeChat) Code2Session(ctx context.Context, code string) (WeChatSession, error) {
	q := url.Values{}
	q.Set("appid", w.appID)
	q.Set("secret", w.secret)
	q.Set("js_code", code)
	q.Set("grant_type", "authorization_code")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.base+"/sns/jscode2session?"+q.Encode(), nil)
	if err != nil {
		return WeChatSession{}, fmt.Errorf("code2session: %w", err)
	}
	res, err := w.client.Do(req)
	if err != nil {
		// The URL holds the secret: report the host only.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return WeChatSession{}, fmt.Errorf("code2session %s: %w", req.URL.Host, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if err != nil {
		return WeChatSession{}, fmt.Errorf("code2session: read answer: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		return WeChatSession{}, fmt.Errorf("code2session: HTTP %d", res.StatusCode)
	}
	// WeChat answers text/plain JSON; errcode is absent on success.
	var ans struct {
		OpenID     string `json:"openid"`
		SessionKey string `json:"session_key"`
		UnionID    string `json:"unionid"`
		ErrCode    int    `json:"errcode"`
		ErrMsg     string `json:"errmsg"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return WeChatSession{}, fmt.Errorf("code2session: malformed answer: %w", err)
	}
	if ans.ErrCode != 0 {
		return WeChatSession{}, &WeChatError{Code: ans.ErrCode, Msg: ans.ErrMsg}
	}
	if ans.OpenID == "" {
		return WeChatSession{}, errors.New("code2session: answer has no openid")
	}
	return WeChatSession{OpenID: ans.OpenID, UnionID: ans.UnionID, SessionKey: ans.SessionKey}, nil
}
