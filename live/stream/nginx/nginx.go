// Package nginx is the self-hosted stream provider: nginx with the
// nginx-rtmp module (Debian's libnginx-mod-rtmp), configured from
// scripts/nginx/nginx.conf.in.
//
// A push is authorised by tide's own signed query (exp and sig =
// HMAC-SHA256(PushKey, stream "\n" exp)), checked in the on_publish hook. HLS
// pulls are signed for nginx's secure_link module, with the token in the path
// so that the playlist's relative segment URLs carry it and nginx checks
// every segment without asking tide; RTMP pulls carry a play signature that
// the on_play hook checks. nginx-rtmp has no HTTP-FLV, so PullURLs.FLV is
// empty. Recordings (record all) are served by nginx under /rec/.
package nginx

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tide-live/tide/live/stream"
	"github.com/tide-live/tide/live/stream/refused"
)

// Name is the provider's short name.
const Name = "nginx"

// Config says where nginx serves and with which keys.
type Config struct {
	// RTMPBase is the RTMP application URL, e.g. rtmp://127.0.0.1:19350/live.
	RTMPBase string
	// HTTPBase is nginx's HTTP server, e.g. http://127.0.0.1:18088.
	HTTPBase string
	// PushKey signs push URLs (and RTMP play URLs' sibling, PlayKey).
	PushKey string
	// PlayKey signs pull URLs; nginx.conf's secure_link_md5 holds the same
	// secret (TIDE_NGINX_PLAY_KEY in scripts/services.sh).
	PlayKey string
}

// Provider is the nginx-rtmp provider; it implements stream.Provider.
type Provider struct {
	cfg     Config
	now     func() time.Time
	log     *slog.Logger
	refused *refused.Counter

	mu        sync.Mutex
	active    map[string]string          // stream → nginx client id of its current push
	dropped   map[string]string          // stream → client id whose next on_update is refused (Drop); "" any
	forbidden map[string]string          // stream → reason, refused until Resume
	records   map[string][]stream.Signal // client id → recordings held until its publish_done
}

// Option configures a Provider.
type Option func(*Provider)

// WithClock sets the clock used to check signature expiry (tests).
func WithClock(now func() time.Time) Option { return func(p *Provider) { p.now = now } }

// WithLogger sets the logger for refused hooks and sink errors.
func WithLogger(l *slog.Logger) Option { return func(p *Provider) { p.log = l } }

// WithRefusedCounter counts refused hooks.
func WithRefusedCounter(c *refused.Counter) Option { return func(p *Provider) { p.refused = c } }

// New returns an nginx-rtmp provider.
func New(cfg Config, opts ...Option) (*Provider, error) {
	if cfg.RTMPBase == "" || cfg.HTTPBase == "" {
		return nil, errors.New("nginx: RTMPBase and HTTPBase are required")
	}
	if cfg.PushKey == "" || cfg.PlayKey == "" {
		return nil, errors.New("nginx: PushKey and PlayKey are required")
	}
	cfg.RTMPBase = strings.TrimSuffix(cfg.RTMPBase, "/")
	cfg.HTTPBase = strings.TrimSuffix(cfg.HTTPBase, "/")
	p := &Provider{
		cfg: cfg, now: time.Now, log: slog.Default(),
		active: map[string]string{}, dropped: map[string]string{}, forbidden: map[string]string{},
		records: map[string][]stream.Signal{},
	}
	for _, o := range opts {
		o(p)
	}
	return p, nil
}

// Name is "nginx".
func (p *Provider) Name() string { return Name }

// PushURL returns RTMPBase/stream?exp=…&sig=….
func (p *Provider) PushURL(streamName string, expires time.Time) (string, error) {
	if err := checkStream(streamName); err != nil {
		return "", err
	}
	return p.cfg.RTMPBase + "/" + streamName + "?" + signedQuery(p.cfg.PushKey, streamName, expires), nil
}

// PullURLs returns the HLS (secure_link) and RTMP (on_play) play addresses.
func (p *Provider) PullURLs(streamName string, expires time.Time) (stream.PullURLs, error) {
	if err := checkStream(streamName); err != nil {
		return stream.PullURLs{}, err
	}
	exp := strconv.FormatInt(expires.Unix(), 10)
	return stream.PullURLs{
		HLS:     fmt.Sprintf("%s/hls/%s/%s/%s/index.m3u8", p.cfg.HTTPBase, SecureLinkToken(p.cfg.PlayKey, streamName, expires), exp, streamName),
		RTMP:    p.cfg.RTMPBase + "/" + streamName + "?" + signedQuery(p.cfg.PlayKey, streamName, expires),
		Expires: time.Unix(expires.Unix(), 0).UTC(),
	}, nil
}

// Sign is tide's push (and RTMP play) signature: hex HMAC-SHA256(key,
// stream "\n" exp), exp in Unix seconds.
func Sign(key, streamName string, exp int64) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(streamName + "\n" + strconv.FormatInt(exp, 10)))
	return hex.EncodeToString(m.Sum(nil))
}

// SecureLinkToken is what nginx.conf's secure_link_md5
// "$hls_expires$hls_stream PLAY_KEY" expects: base64url (no padding) of
// MD5(exp + stream + " " + key).
func SecureLinkToken(key, streamName string, expires time.Time) string {
	sum := md5.Sum([]byte(strconv.FormatInt(expires.Unix(), 10) + streamName + " " + key))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func signedQuery(key, streamName string, expires time.Time) string {
	exp := expires.Unix()
	return url.Values{"exp": {strconv.FormatInt(exp, 10)}, "sig": {Sign(key, streamName, exp)}}.Encode()
}

// checkStream keeps names to what nginx.conf's HLS location matches.
func checkStream(name string) error {
	if name == "" || len(name) > 128 {
		return fmt.Errorf("nginx: invalid stream name %q", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return fmt.Errorf("nginx: invalid stream name %q: only letters, digits, - and _", name)
		}
	}
	return nil
}
