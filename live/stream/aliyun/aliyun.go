// Package aliyun is the Alibaba Cloud ApsaraVideo Live (阿里云视频直播) stream
// provider: auth_key type A push and pull URLs, GET callbacks verified by
// ALI-LIVE-SIGNATURE, and ForbidLiveStream / ResumeLiveStream through the
// Live API.
//
// The control calls are signed here (RPC signature v1, HMAC-SHA1) because
// Aliyun's Go SDK for Live is not served by the module proxy this project
// uses, and its generic OpenAPI client drags in a dozen modules for three
// calls; the signer is checked against Aliyun's published example.
package aliyun

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tide-live/tide/live/stream"
	"github.com/tide-live/tide/live/stream/refused"
)

// Name is the provider's short name.
const Name = "aliyun"

// Config is what Aliyun's console gives a live domain pair.
type Config struct {
	PushDomain string // 推流域名
	PlayDomain string // 播流域名
	AppName    string // "live" when empty
	PushKey    string // auth_key type A primary key of the push domain
	PlayKey    string // auth_key type A primary key of the play domain
	// CallbackKey signs callbacks: ALI-LIVE-SIGNATURE =
	// MD5(CallbackDomain|ALI-LIVE-TIMESTAMP|CallbackKey).
	CallbackKey string
	// CallbackDomain is the domain in that signature, PushDomain when empty.
	CallbackDomain  string
	AccessKeyID     string // Live API credential for the control calls
	AccessKeySecret string
	RegionID        string // "cn-shanghai" when empty
}

// Provider is the Aliyun Live provider; it implements stream.Provider.
type Provider struct {
	cfg      Config
	now      func() time.Time
	log      *slog.Logger
	refused  *refused.Counter
	rand     func() string
	maxSkew  time.Duration
	endpoint string
	client   *http.Client
}

// Option configures a Provider.
type Option func(*Provider)

// WithClock sets the clock for signatures and their checks (tests).
func WithClock(now func() time.Time) Option { return func(p *Provider) { p.now = now } }

// WithLogger sets the logger for refused callbacks and sink errors.
func WithLogger(l *slog.Logger) Option { return func(p *Provider) { p.log = l } }

// WithRefusedCounter counts refused callbacks.
func WithRefusedCounter(c *refused.Counter) Option { return func(p *Provider) { p.refused = c } }

// WithRand sets the source of auth_key's rand field (tests); by default a
// fresh 128-bit hex value per URL.
func WithRand(r func() string) Option { return func(p *Provider) { p.rand = r } }

// WithMaxSkew sets how old (or early) a callback's ALI-LIVE-TIMESTAMP may
// be; 5 minutes by default, enough for Aliyun's five retries 1 s apart.
func WithMaxSkew(d time.Duration) Option { return func(p *Provider) { p.maxSkew = d } }

// WithAPIEndpoint sends control calls to endpoint (a URL such as
// https://live.aliyuncs.com/, the default) with client.
func WithAPIEndpoint(endpoint string, client *http.Client) Option {
	return func(p *Provider) { p.endpoint, p.client = endpoint, client }
}

// New returns an Aliyun Live provider.
func New(cfg Config, opts ...Option) (*Provider, error) {
	if cfg.PushDomain == "" || cfg.PlayDomain == "" {
		return nil, errors.New("aliyun: PushDomain and PlayDomain are required")
	}
	if cfg.PushKey == "" || cfg.PlayKey == "" || cfg.CallbackKey == "" {
		return nil, errors.New("aliyun: PushKey, PlayKey and CallbackKey are required")
	}
	if cfg.AppName == "" {
		cfg.AppName = "live"
	}
	if cfg.CallbackDomain == "" {
		cfg.CallbackDomain = cfg.PushDomain
	}
	if cfg.RegionID == "" {
		cfg.RegionID = "cn-shanghai"
	}
	p := &Provider{
		cfg: cfg, now: time.Now, log: slog.Default(), rand: randomHex, maxSkew: 5 * time.Minute,
		endpoint: "https://live.aliyuncs.com/", client: &http.Client{Timeout: 10 * time.Second},
	}
	for _, o := range opts {
		o(p)
	}
	return p, nil
}

// Name is "aliyun".
func (p *Provider) Name() string { return Name }

// PushURL returns rtmp://PushDomain/App/stream?auth_key=….
func (p *Provider) PushURL(streamName string, expires time.Time) (string, error) {
	if err := checkStream(streamName); err != nil {
		return "", err
	}
	uri := "/" + p.cfg.AppName + "/" + streamName
	return "rtmp://" + p.cfg.PushDomain + uri + "?auth_key=" + AuthKey(uri, p.cfg.PushKey, expires.Unix(), p.rand(), "0"), nil
}

// PullURLs returns FLV, HLS and RTMP play addresses, each with its own
// auth_key (type A signs the path, suffix included).
func (p *Provider) PullURLs(streamName string, expires time.Time) (stream.PullURLs, error) {
	if err := checkStream(streamName); err != nil {
		return stream.PullURLs{}, err
	}
	uri := "/" + p.cfg.AppName + "/" + streamName
	sign := func(path string) string {
		return p.cfg.PlayDomain + path + "?auth_key=" + AuthKey(path, p.cfg.PlayKey, expires.Unix(), p.rand(), "0")
	}
	return stream.PullURLs{
		FLV:     "https://" + sign(uri+".flv"),
		HLS:     "https://" + sign(uri+".m3u8"),
		RTMP:    "rtmp://" + sign(uri),
		Expires: time.Unix(expires.Unix(), 0).UTC(),
	}, nil
}

// AuthKey is auth_key type A: "exp-rand-uid-" + MD5(uri-exp-rand-uid-key),
// exp in Unix seconds.
func AuthKey(uri, key string, exp int64, rand, uid string) string {
	ts := strconv.FormatInt(exp, 10)
	sum := md5.Sum([]byte(uri + "-" + ts + "-" + rand + "-" + uid + "-" + key))
	return ts + "-" + rand + "-" + uid + "-" + hex.EncodeToString(sum[:])
}

func randomHex() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "0" // crypto/rand does not fail on Linux; "0" is a valid rand
	}
	return hex.EncodeToString(b[:])
}

func checkStream(name string) error {
	if name == "" || strings.ContainsAny(name, "/?&#% ") {
		return fmt.Errorf("aliyun: invalid stream name %q", name)
	}
	return nil
}
