// Package wxship uploads shipments to WeChat's mini-program shipping-info
// service (发货信息管理, wxa/sec/order/upload_shipping_info), which a
// mini-program taking WeChat Pay must call for every paid order it ships.
// It holds the app's access token (the stable-token API, cached until it
// expires, refreshed when WeChat says it is invalid or expired).
package wxship

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

// Client uploads shipping info. It is safe for concurrent use.
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
		return nil, errors.New("wxship: needs the mini-program's app id and secret")
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

// APIError is WeChat's answer with a non-zero errcode.
type APIError struct {
	Code int    `json:"errcode"`
	Msg  string `json:"errmsg"`
}

func (e *APIError) Error() string { return fmt.Sprintf("wechat errcode %d: %s", e.Code, e.Msg) }

// Transient says whether the same request may succeed later: WeChat is
// busy (-1), over a rate limit (45009), or does not see the payment yet
// (10060001: a payment reaches the shipping service a little after its
// notify). Every other errcode is a refusal the caller must fix.
func (e *APIError) Transient() bool {
	switch e.Code {
	case -1, 45009, 10060001:
		return true
	}
	return false
}

// tokenRejected: the access token is invalid (40001, 40014) or expired (42001).
func tokenRejected(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && (ae.Code == 40001 || ae.Code == 40014 || ae.Code == 42001)
}

// Permanent says whether err is a refusal WeChat will repeat (an
// *APIError that is not Transient): the upload must be fixed, not retried.
func Permanent(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && !ae.Transient() && !tokenRejected(err)
}

// Upload sends one shipment. A token WeChat rejects is refreshed and the
// upload sent once more.
func (c *Client) Upload(ctx context.Context, s Shipping) error {
	if err := s.Validate(); err != nil {
		return err
	}
	body, err := json.Marshal(s.request())
	if err != nil {
		return fmt.Errorf("wxship: %w", err)
	}
	tok, err := c.accessToken(ctx, "")
	if err != nil {
		return err
	}
	err = c.post(ctx, "/wxa/sec/order/upload_shipping_info?access_token="+tok, body, nil)
	if !tokenRejected(err) {
		return err
	}
	if tok, err = c.accessToken(ctx, tok); err != nil {
		return err
	}
	return c.post(ctx, "/wxa/sec/order/upload_shipping_info?access_token="+tok, body, nil)
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
		return "", 0, fmt.Errorf("wxship token: %w", err)
	}
	var res struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := c.post(ctx, "/cgi-bin/stable_token", body, &res); err != nil {
		return "", 0, fmt.Errorf("wxship token: %w", err)
	}
	if res.AccessToken == "" || res.ExpiresIn <= 0 {
		return "", 0, errors.New("wxship token: an answer without access_token or expires_in")
	}
	return res.AccessToken, time.Duration(res.ExpiresIn) * time.Second, nil
}

// post sends body to path and decodes the answer: a non-zero errcode is an
// *APIError; out, if not nil, gets the rest.
func (c *Client) post(ctx context.Context, path string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.BaseURL+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("wxship: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("wxship: %w", err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("wxship: reading the answer: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("wxship: HTTP %d: %.200s", res.StatusCode, raw)
	}
	var ae APIError
	if err := json.Unmarshal(raw, &ae); err != nil {
		return fmt.Errorf("wxship: an answer that is not JSON: %.200s", raw)
	}
	if ae.Code != 0 {
		return &ae
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("wxship: %w", err)
		}
	}
	return nil
}
