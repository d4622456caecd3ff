// Package streamtest is a stream.Provider for tests of the registry and of
// the services above it: URLs with a visible expiry, a callback handler
// that takes a JSON stream.Signal (no signature: tests only), and a record
// of the control calls it received.
package streamtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/tide-live/tide/live/stream"
)

// Provider is a test stream.Provider named "test". Safe for concurrent use.
type Provider struct {
	mu        sync.Mutex
	forbidden map[string]string
	dropped   []string
}

// New returns a Provider.
func New() *Provider { return &Provider{forbidden: map[string]string{}} }

// Name is "test".
func (p *Provider) Name() string { return "test" }

// PushURL returns rtmp://push.test/live/<stream>?expires=<unix>.
func (p *Provider) PushURL(s string, expires time.Time) (string, error) {
	return "rtmp://push.test/live/" + url.PathEscape(s) + "?expires=" + strconv.FormatInt(expires.Unix(), 10), nil
}

// PullURLs returns http://pull.test/live/<stream>.flv and .m3u8 with the expiry.
func (p *Provider) PullURLs(s string, expires time.Time) (stream.PullURLs, error) {
	q := "?expires=" + strconv.FormatInt(expires.Unix(), 10)
	base := "http://pull.test/live/" + url.PathEscape(s)
	return stream.PullURLs{FLV: base + ".flv" + q, HLS: base + ".m3u8" + q, RTMP: "rtmp://pull.test/live/" + url.PathEscape(s) + q,
		Expires: expires}, nil
}

// Callbacks takes a POSTed JSON stream.Signal, applies it to sink and
// answers the Decision as JSON, with 403 when the push is refused.
func (p *Provider) Callbacks(sink stream.Sink) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var sig stream.Signal
		if err := json.NewDecoder(r.Body).Decode(&sig); err != nil {
			http.Error(w, "bad signal: "+err.Error(), http.StatusBadRequest)
			return
		}
		sig.Provider = p.Name()
		d, err := sink.Apply(r.Context(), sig)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if !d.Allow {
			w.WriteHeader(http.StatusForbidden)
		}
		_ = json.NewEncoder(w).Encode(d)
	})
}

// Drop records the call.
func (p *Provider) Drop(_ context.Context, s string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dropped = append(p.dropped, s)
	return nil
}

// Forbid records the stream as forbidden.
func (p *Provider) Forbid(_ context.Context, s, reason string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.forbidden[s] = reason
	return nil
}

// Resume lifts a Forbid.
func (p *Provider) Resume(_ context.Context, s string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.forbidden[s]; !ok {
		return fmt.Errorf("stream %s is not forbidden", s)
	}
	delete(p.forbidden, s)
	return nil
}

// Forbidden returns the reason stream was forbidden for, and whether it is.
func (p *Provider) Forbidden(s string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r, ok := p.forbidden[s]
	return r, ok
}

// Dropped returns the streams Drop was called for, in order.
func (p *Provider) Dropped() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.dropped...)
}
