package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tide-live/tide/live/stream"
	"github.com/tide-live/tide/live/stream/nginx"
	"github.com/tide-live/tide/live/stream/tencent"
)

// benchKey signs the bench's pushes and callbacks (a throwaway registry).
const benchKey = "bench-live-key"

// benchProvider is the named provider, keyed with benchKey, and a builder of
// the caller that sends its callbacks, signed, to a URL. No cloud or nginx
// is contacted: the callbacks are what they would send; Tencent's control
// API points at a closed local port.
func benchProvider(name string) (stream.Provider, func(url string, client *http.Client) caller, error) {
	switch name {
	case nginx.Name:
		p, err := nginx.New(nginx.Config{RTMPBase: "rtmp://127.0.0.1:1/live", HTTPBase: "http://127.0.0.1:1",
			PushKey: benchKey, PlayKey: benchKey})
		return p, func(u string, c *http.Client) caller { return nginxCaller{url: u, pushKey: benchKey, client: c} }, err
	case tencent.Name:
		p, err := tencent.New(tencent.Config{PushDomain: "push.bench.test", PlayDomain: "play.bench.test",
			PushKey: benchKey, PlayKey: benchKey, CallbackKey: benchKey}, tencent.WithAPIEndpoint("HTTP", "127.0.0.1:1"))
		return p, func(u string, c *http.Client) caller { return tencentCaller{url: u, key: benchKey, client: c} }, err
	}
	return nil, nil, fmt.Errorf("-provider %q: want nginx or tencent", name)
}

// caller sends a provider's callbacks for one push, signed as the provider
// signs them, to tide's callback endpoint.
type caller interface {
	publish(ctx context.Context, streamName, seq string) error
	disconnect(ctx context.Context, streamName, seq string) error
}

// tencentCaller posts Tencent CSS JSON callbacks (event_type 1 and 0).
type tencentCaller struct {
	url, key string
	client   *http.Client
}

func (c tencentCaller) publish(ctx context.Context, streamName, seq string) error {
	return c.post(ctx, map[string]any{"event_type": 1, "stream_id": streamName, "sequence": seq})
}

func (c tencentCaller) disconnect(ctx context.Context, streamName, seq string) error {
	return c.post(ctx, map[string]any{"event_type": 0, "stream_id": streamName, "sequence": seq, "errcode": 1, "errmsg": "recv rtmp deleteStream"})
}

func (c tencentCaller) post(ctx context.Context, body map[string]any) error {
	t := time.Now().Add(10 * time.Minute).Unix()
	body["t"], body["sign"] = t, tencent.CallbackSign(c.key, t)
	body["event_time"] = time.Now().Unix()
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	return send(ctx, c.client, c.url, "application/json", string(raw))
}

// nginxCaller posts nginx-rtmp notify hooks (publish, publish_done) with
// tide's signed push query.
type nginxCaller struct {
	url, pushKey string
	client       *http.Client
}

func (c nginxCaller) publish(ctx context.Context, streamName, seq string) error {
	return c.post(ctx, "publish", streamName, seq)
}

func (c nginxCaller) disconnect(ctx context.Context, streamName, seq string) error {
	return c.post(ctx, "publish_done", streamName, seq)
}

func (c nginxCaller) post(ctx context.Context, call, streamName, seq string) error {
	exp := time.Now().Add(time.Hour).Unix()
	form := url.Values{
		"app": {"live"}, "addr": {"127.0.0.1"}, "clientid": {seq}, "call": {call}, "name": {streamName},
		"type": {"live"}, "exp": {strconv.FormatInt(exp, 10)}, "sig": {nginx.Sign(c.pushKey, streamName, exp)},
	}
	return send(ctx, c.client, c.url, "application/x-www-form-urlencoded", form.Encode())
}

func send(ctx context.Context, client *http.Client, u, contentType, body string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("callback answered %d: %s", resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	return nil
}
