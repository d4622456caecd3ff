package aliyun

import (
	"context"
	"crypto/md5"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/tide-live/tide/live/stream"
	"github.com/tide-live/tide/live/stream/refused"
)

const (
	// sinkTimeout keeps the answer inside Aliyun's 5 s callback timeout.
	sinkTimeout = 3 * time.Second
	dropTimeout = 15 * time.Second
)

// CallbackSignature is ALI-LIVE-SIGNATURE: MD5(domain|timestamp|key).
func CallbackSignature(domain string, timestamp int64, key string) string {
	sum := md5.Sum([]byte(domain + "|" + strconv.FormatInt(timestamp, 10) + "|" + key))
	return hex.EncodeToString(sum[:])
}

// Callbacks returns the handler for Aliyun's stream callbacks: GET with
// action=publish|publish_done, id (the stream), time, and the headers
// ALI-LIVE-TIMESTAMP and ALI-LIVE-SIGNATURE, refused when the timestamp is
// more than the allowed skew away. Aliyun retries an unanswered callback up
// to five times with the same query, so Signal.ID is action, stream and time.
// Aliyun does not say why a push ended: its disconnects are not blips.
func (p *Provider) Callbacks(sink stream.Sink) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok, why, err := p.read(r)
		if err != nil {
			p.refused.Inc(Name, why)
			p.log.WarnContext(r.Context(), "aliyun callback refused", "reason", string(why), "err", err, "remote", r.RemoteAddr)
			code := http.StatusForbidden
			if why == refused.Malformed {
				code = http.StatusBadRequest
			}
			http.Error(w, err.Error(), code)
			return
		}
		if ok {
			ctx, cancel := context.WithTimeout(r.Context(), sinkTimeout)
			dec, err := sink.Apply(ctx, s)
			cancel()
			if err != nil {
				p.log.ErrorContext(r.Context(), "aliyun callback: sink failed", "signal", s.ID, "err", err)
				http.Error(w, "sink failed; retry", http.StatusInternalServerError)
				return
			}
			if s.Kind == stream.KindPublish && !dec.Allow {
				p.dropRefused(s.Stream, dec.Reason)
			}
		}
		_, _ = io.WriteString(w, "ok")
	})
}

func (p *Provider) read(r *http.Request) (stream.Signal, bool, refused.Reason, error) {
	var s stream.Signal
	if r.Method != http.MethodGet {
		return s, false, refused.Malformed, fmt.Errorf("method %s: callbacks are GET", r.Method)
	}
	tsRaw, sig := r.Header.Get("ALI-LIVE-TIMESTAMP"), r.Header.Get("ALI-LIVE-SIGNATURE")
	if tsRaw == "" || sig == "" {
		return s, false, refused.Malformed, errors.New("ALI-LIVE-TIMESTAMP and ALI-LIVE-SIGNATURE are required")
	}
	ts, err := strconv.ParseInt(tsRaw, 10, 64)
	if err != nil {
		return s, false, refused.Malformed, fmt.Errorf("ALI-LIVE-TIMESTAMP %q: %w", tsRaw, err)
	}
	want := CallbackSignature(p.cfg.CallbackDomain, ts, p.cfg.CallbackKey)
	if subtle.ConstantTimeCompare([]byte(sig), []byte(want)) != 1 {
		return s, false, refused.Forged, errors.New("ALI-LIVE-SIGNATURE does not match")
	}
	if skew := p.now().Sub(time.Unix(ts, 0)).Abs(); skew > p.maxSkew {
		return s, false, refused.Expired, fmt.Errorf("ALI-LIVE-TIMESTAMP %d is %v away (max %v)", ts, skew.Round(time.Second), p.maxSkew)
	}
	q := r.URL.Query()
	action, name := q.Get("action"), q.Get("id")
	var kind stream.Kind
	switch action {
	case "publish":
		kind = stream.KindPublish
	case "publish_done":
		kind = stream.KindDisconnect
	default:
		return s, false, "", nil // verified, but nothing tide acts on
	}
	if name == "" {
		return s, false, refused.Malformed, errors.New("id (the stream name) is required")
	}
	at := time.Unix(ts, 0)
	if t, err := strconv.ParseInt(q.Get("time"), 10, 64); err == nil {
		at = time.Unix(t, 0)
	}
	s = stream.Signal{
		ID:       fmt.Sprintf("aliyun:%s:%s:%d", action, name, at.Unix()),
		Provider: Name, Kind: kind, Stream: name, At: at.UTC(),
	}
	if kind == stream.KindDisconnect {
		s.Reason = "aliyun publish_done"
	}
	return s, true, "", nil
}

// dropRefused cuts a push the Sink refused; Aliyun does not gate a push on
// the callback's answer.
func (p *Provider) dropRefused(streamName, why string) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), dropTimeout)
		defer cancel()
		if err := p.Drop(ctx, streamName); err != nil {
			p.log.Error("aliyun: could not drop a refused push", "stream", streamName, "reason", why, "err", err)
		}
	}()
}
