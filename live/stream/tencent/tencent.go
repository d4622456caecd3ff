// Package tencent is the Tencent Cloud CSS (云直播) stream provider: txSecret
// push and pull URLs, verified JSON callbacks (push, disconnect, record,
// moderation) and the DropLiveStream / ForbidLiveStream / ResumeLiveStream
// control calls through the TencentCloud API (TC3-HMAC-SHA256, signed by the
// TencentCloud Go SDK's common client).
package tencent

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"

	"github.com/tide-live/tide/live/stream"
	"github.com/tide-live/tide/live/stream/refused"
)

// Name is the provider's short name.
const Name = "tencent"

// Config is what Tencent's console gives a live domain pair.
type Config struct {
	PushDomain  string // e.g. "push.example.com"
	PlayDomain  string // e.g. "play.example.com"
	AppName     string // the path's app, "live" when empty
	PushKey     string // 推流鉴权 key
	PlayKey     string // 播放鉴权 key
	CallbackKey string // 回调密钥
	SecretID    string // TencentCloud API credential for the control calls
	SecretKey   string
	Region      string // API region, "ap-guangzhou" when empty
}

// Provider is the Tencent CSS provider; it implements stream.Provider.
type Provider struct {
	cfg     Config
	now     func() time.Time
	log     *slog.Logger
	refused *refused.Counter
	api     *common.Client

	apiScheme, apiEndpoint string
}

// Option configures a Provider.
type Option func(*Provider)

// WithClock sets the clock used to check callback expiry (tests).
func WithClock(now func() time.Time) Option { return func(p *Provider) { p.now = now } }

// WithLogger sets the logger for refused callbacks and sink errors.
func WithLogger(l *slog.Logger) Option { return func(p *Provider) { p.log = l } }

// WithRefusedCounter counts refused callbacks.
func WithRefusedCounter(c *refused.Counter) Option { return func(p *Provider) { p.refused = c } }

// WithAPIEndpoint sends the control calls to endpoint ("host:port") over
// scheme ("HTTP" or "HTTPS") instead of live.tencentcloudapi.com, e.g. a
// local fake in tests.
func WithAPIEndpoint(scheme, endpoint string) Option {
	return func(p *Provider) { p.apiScheme, p.apiEndpoint = scheme, endpoint }
}

// New returns a Tencent CSS provider.
func New(cfg Config, opts ...Option) (*Provider, error) {
	if cfg.PushDomain == "" || cfg.PlayDomain == "" {
		return nil, errors.New("tencent: PushDomain and PlayDomain are required")
	}
	if cfg.PushKey == "" || cfg.PlayKey == "" || cfg.CallbackKey == "" {
		return nil, errors.New("tencent: PushKey, PlayKey and CallbackKey are required")
	}
	if cfg.AppName == "" {
		cfg.AppName = "live"
	}
	if cfg.Region == "" {
		cfg.Region = "ap-guangzhou"
	}
	p := &Provider{
		cfg:         cfg,
		now:         time.Now,
		log:         slog.Default(),
		apiScheme:   "HTTPS",
		apiEndpoint: "live.tencentcloudapi.com",
	}
	for _, o := range opts {
		o(p)
	}
	prof := profile.NewClientProfile()
	prof.SignMethod = "TC3-HMAC-SHA256"
	prof.HttpProfile.ReqMethod = "POST"
	prof.HttpProfile.Scheme = p.apiScheme
	prof.HttpProfile.Endpoint = p.apiEndpoint
	prof.HttpProfile.ReqTimeout = 10
	p.api = common.NewCommonClient(common.NewCredential(cfg.SecretID, cfg.SecretKey), cfg.Region, prof)
	return p, nil
}

// Name is "tencent".
func (p *Provider) Name() string { return Name }

// PushURL returns rtmp://PushDomain/App/stream?txSecret=…&txTime=….
func (p *Provider) PushURL(streamName string, expires time.Time) (string, error) {
	if err := checkStream(streamName); err != nil {
		return "", err
	}
	return fmt.Sprintf("rtmp://%s/%s/%s?%s", p.cfg.PushDomain, p.cfg.AppName, streamName,
		signedQuery(p.cfg.PushKey, streamName, expires)), nil
}

// PullURLs returns FLV, HLS and RTMP play addresses signed with the play key.
func (p *Provider) PullURLs(streamName string, expires time.Time) (stream.PullURLs, error) {
	if err := checkStream(streamName); err != nil {
		return stream.PullURLs{}, err
	}
	q := signedQuery(p.cfg.PlayKey, streamName, expires)
	base := p.cfg.PlayDomain + "/" + p.cfg.AppName + "/" + streamName
	return stream.PullURLs{
		FLV:     "https://" + base + ".flv?" + q,
		HLS:     "https://" + base + ".m3u8?" + q,
		RTMP:    "rtmp://" + base + "?" + q,
		Expires: expires.UTC().Truncate(time.Second),
	}, nil
}

// TxTime is Tencent's txTime: the expiry as upper-case hex Unix seconds.
func TxTime(expires time.Time) string { return fmt.Sprintf("%X", expires.Unix()) }

// TxSecret is MD5(key + streamName + txTime), lower-case hex.
func TxSecret(key, streamName, txTime string) string { return md5hex(key + streamName + txTime) }

func signedQuery(key, streamName string, expires time.Time) string {
	tx := TxTime(expires)
	return url.Values{"txSecret": {TxSecret(key, streamName, tx)}, "txTime": {tx}}.Encode()
}

// checkStream refuses names that would not survive a URL path unescaped.
func checkStream(name string) error {
	if name == "" || strings.ContainsAny(name, "/?&#% ") {
		return fmt.Errorf("tencent: invalid stream name %q", name)
	}
	return nil
}
