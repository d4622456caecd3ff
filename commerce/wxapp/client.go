// Package wxapp calls the mini-program's server API (api.weixin.qq.com)
// for the app: it holds the app's access token (the stable-token API,
// cached until it expires, refreshed when WeChat says it is invalid or
// expired) and posts JSON requests, turning a non-zero errcode into an
// *APIError. The services on top (commerce/wxship's shipping-info upload,
// commerce/wxrisk's user risk rank) share one Client, so one token.
package wxapp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// DefaultBaseURL is WeChat's API host.
const DefaultBaseURL = "https://api.weixin.qq.com"

// Config is the mini-program's credentials and WeChat's host.
type Config struct {
	AppID  string
	Secret string
	// BaseURL is the API host; empty: DefaultBaseURL.
	BaseURL string
	// HTTP is the client to use; nil: one with a 10 s timeout.
	HTTP *http.Client
}

// Client calls the API with the app's access token. It is safe for
// concurrent use.
type Client struct {
	cfg  Config
	http *http.Client

	mu      sync.Mutex
	token   string
	expires time.Time
}

// New returns a Client of cfg.
func New(cfg Config) (*Client, error) {
	if cfg.AppID == "" || cfg.Secret == "" {
		return nil, errors.New("wxapp: needs the mini-program's app id and secret")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	h := cfg.HTTP
	if h == nil {
		h = &http.Client{Timeout: 10 * time.Second}
	}
	return &Client{cfg: cfg, http: h}, nil
}

// AppID is the mini-program's app id (the appid many request bodies name).
func (c *Client) AppID() string { return c.cfg.AppID }

// APIError is WeChat's answer with a non-zero errcode.
type APIError struct {
	Code int    `json:"errcode"`
	Msg  string `json:"errmsg"`
}

func (e *APIError) Error() string { return fmt.Sprintf("wechat errcode %d: %s", e.Code, e.Msg) }

// Transient says whether the same request may succeed later: WeChat is
// busy (-1), over a rate limit (45009), or, for a shipping-info upload,
// does not see the payment yet (10060001: a payment reaches the shipping
// service a little after its notify). Every other errcode is a refusal the
// caller must fix.
func (e *APIError) Transient() bool {
	switch e.Code {
	case -1, 45009, 10060001:
		return true
	}
	return false
}

// TokenRejected says whether err is WeChat refusing the access token:
// invalid (40001, 40014) or expired (42001).
func TokenRejected(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && (ae.Code == 40001 || ae.Code == 40014 || ae.Code == 42001)
}

// Call posts req (JSON) to path with the access token and decodes the
// answer into out (nil: only its errcode is read). A token WeChat rejects
// is refreshed and the request sent once more.
func (c *Client) Call(ctx context.Context, path string, req, out any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("wxapp %s: %w", path, err)
	}
	tok, err := c.accessToken(ctx, "")
	if err != nil {
		return err
	}
	err = c.post(ctx, path+"?access_token="+tok, body, out)
	if !TokenRejected(err) {
		return err
	}
	if tok, err = c.accessToken(ctx, tok); err != nil {
		return err
	}
	return c.post(ctx, path+"?access_token="+tok, body, out)
}

// accessToken returns the cached token, or a new one when there is none,
// it expires within a minute, or it is rejected (the token WeChat refused).
func (c *Client) accessToken(ctx context.Context, rejected string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && c.token != rejected && time.Until(c.expires) > time.Minute {
		return c.token, nil
	}
	tok, ttl, err := c.stableToken(ctx, false)
	if err == nil && tok == rejected {
		// WeChat still hands out the token it refuses: make it issue a new one.
		tok, ttl, err = c.stableToken(ctx, true)
	}
	if err != nil {
		c.token = ""
		return "", err
	}
	c.token, c.expires = tok, time.Now().Add(ttl)
	return tok, nil
}

// stableToken calls /cgi-bin/stable_token (one token shared by every
// process of the app, unlike /cgi-bin/token, which revokes the others').
func (c *Client) stableToken(ctx context.Context, force bool) (string, time.Duration, error) {
	body, err := json.Marshal(map[string]any{"grant_type": "client_credential", "appid": c.cfg.AppID, "secret": c.cfg.Secret, "force_refresh": force})
	if err != nil {
		return "", 0, fmt.Errorf("wxapp token: %w", err)
	}
	var res struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := c.post(ctx, "/cgi-bin/stable_token", body, &res); err != nil {
		return "", 0, fmt.Errorf("wxapp token: %w", err)
	}
	if res.AccessToken == "" || res.ExpiresIn <= 0 {
		return "", 0, errors.New("wxapp token: an answer without access_token or expires_in")
	}
	return res.AccessToken, time.Duration(res.ExpiresIn) * time.Second, nil
}

// post sends body to path and decodes the answer: a non-zero errcode is an
// *APIError; out, if not nil, gets the rest.
func (c *Client) post(ctx context.Context, path string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.BaseURL+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("wxapp: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("wxapp: %w", err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("wxapp: reading the answer: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("wxapp: HTTP %d: %.200s", res.StatusCode, raw)
	}
	var ae APIError
	if err := json.Unmarshal(raw, &ae); err != nil {
		return fmt.Errorf("wxapp: an answer that is not JSON: %.200s", raw)
	}
	if ae.Code != 0 {
		return &ae
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("wxapp: %w", err)
		}
	}
	return nil
}
