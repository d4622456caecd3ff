package aliyun

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

const apiVersion = "2016-11-01"

// Drop cuts the current push of streamName without banning it
// (ForbidLiveStream with Oneshot=yes).
func (p *Provider) Drop(ctx context.Context, streamName string) error {
	return p.call(ctx, "ForbidLiveStream", p.streamParams(streamName, map[string]string{"Oneshot": "yes"}))
}

// Forbid cuts streamName and bans it until Resume (ForbidLiveStream without
// ResumeTime). Aliyun keeps no reason; it is logged.
func (p *Provider) Forbid(ctx context.Context, streamName, reason string) error {
	p.log.InfoContext(ctx, "aliyun: forbidding stream", "stream", streamName, "reason", reason)
	return p.call(ctx, "ForbidLiveStream", p.streamParams(streamName, nil))
}

// Resume lifts a Forbid (ResumeLiveStream).
func (p *Provider) Resume(ctx context.Context, streamName string) error {
	return p.call(ctx, "ResumeLiveStream", p.streamParams(streamName, nil))
}

func (p *Provider) streamParams(streamName string, extra map[string]string) map[string]string {
	m := map[string]string{
		"DomainName": p.cfg.PushDomain, "AppName": p.cfg.AppName, "StreamName": streamName,
		"LiveStreamType": "publisher",
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

// call sends one RPC-style Live API call, signed with signature v1.
func (p *Provider) call(ctx context.Context, action string, params map[string]string) error {
	if err := checkStream(params["StreamName"]); err != nil {
		return err
	}
	q := url.Values{}
	for k, v := range params {
		q.Set(k, v)
	}
	q.Set("Action", action)
	q.Set("Version", apiVersion)
	q.Set("Format", "JSON")
	q.Set("RegionId", p.cfg.RegionID)
	q.Set("AccessKeyId", p.cfg.AccessKeyID)
	q.Set("SignatureMethod", "HMAC-SHA1")
	q.Set("SignatureVersion", "1.0")
	q.Set("SignatureNonce", randomHex())
	q.Set("Timestamp", p.now().UTC().Format("2006-01-02T15:04:05Z"))
	q.Set("Signature", SignRPC(http.MethodGet, q, p.cfg.AccessKeySecret))

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.endpoint+"?"+encode(q), nil)
	if err != nil {
		return fmt.Errorf("aliyun %s: %w", action, err)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("aliyun %s %s: %w", action, params["StreamName"], err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		var e struct{ Code, Message, RequestID string }
		_ = json.Unmarshal(body, &e)
		return fmt.Errorf("aliyun %s %s: HTTP %d %s: %s", action, params["StreamName"], resp.StatusCode, e.Code, e.Message)
	}
	return nil
}

// SignRPC is Aliyun's RPC signature v1: base64 HMAC-SHA1 with key
// secret + "&" over method&%2F&percentEncode(canonical query), the query's
// Signature itself excluded.
func SignRPC(method string, q url.Values, secret string) string {
	unsigned := url.Values{}
	for k, v := range q {
		if k != "Signature" {
			unsigned[k] = v
		}
	}
	toSign := method + "&" + percentEncode("/") + "&" + percentEncode(encode(unsigned))
	m := hmac.New(sha1.New, []byte(secret+"&"))
	m.Write([]byte(toSign))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// percentEncode is RFC 3986 encoding as Aliyun's signature wants it
// (space as %20, ~ kept, * encoded).
func percentEncode(s string) string {
	e := url.QueryEscape(s)
	e = strings.ReplaceAll(e, "+", "%20")
	e = strings.ReplaceAll(e, "*", "%2A")
	return strings.ReplaceAll(e, "%7E", "~")
}

// encode is the canonical query: keys sorted, both sides percent-encoded.
func encode(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = percentEncode(k) + "=" + percentEncode(q.Get(k))
	}
	return strings.Join(parts, "&")
}
