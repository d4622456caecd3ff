package nginx

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strconv"
	"time"

	"github.com/tide-live/tide/live/stream"
	"github.com/tide-live/tide/live/stream/refused"
)

// sinkTimeout bounds the Sink's work: nginx-rtmp waits for the hook's answer
// before it lets a push start.
const sinkTimeout = 3 * time.Second

// refusal is a hook refused for its signature or form, counted by reason.
type refusal struct {
	reason refused.Reason
	err    error
}

func (r *refusal) Error() string { return r.err.Error() }

// Callbacks returns the handler for nginx-rtmp's notify hooks (POST,
// application/x-www-form-urlencoded, the call named in "call"). A non-2xx
// answer refuses a publish or play and cuts a running push on update
// (notify_update_strict on); publish_done and record_done only report.
//
// nginx-rtmp sends each notify once and never retries, so each hook is its
// own Signal: the ID carries the time tide received it.
func (p *Provider) Callbacks(sink stream.Sink) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status, err := p.hook(w, r, sink)
		var ref *refusal
		if errors.As(err, &ref) {
			p.refused.Inc(Name, ref.reason)
			p.log.WarnContext(r.Context(), "nginx hook refused", "reason", string(ref.reason), "err", err, "remote", r.RemoteAddr)
		} else if err != nil {
			p.log.WarnContext(r.Context(), "nginx hook", "status", status, "err", err)
		}
		if err != nil {
			http.Error(w, err.Error(), status)
			return
		}
		w.WriteHeader(status)
	})
}

func (p *Provider) hook(w http.ResponseWriter, r *http.Request, sink stream.Sink) (int, error) {
	if r.Method != http.MethodPost {
		return http.StatusMethodNotAllowed, &refusal{refused.Malformed, fmt.Errorf("method %s: hooks are POST", r.Method)}
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return http.StatusBadRequest, &refusal{refused.Malformed, fmt.Errorf("read form: %w", err)}
	}
	f := r.PostForm
	call, name, client := f.Get("call"), f.Get("name"), f.Get("clientid")
	if call == "" || name == "" {
		return http.StatusBadRequest, &refusal{refused.Malformed, errors.New("call and name are required")}
	}
	switch call {
	case "publish":
		if err := p.verify(p.cfg.PushKey, name, f.Get("exp"), f.Get("sig"), true); err != nil {
			return http.StatusForbidden, err
		}
		if why, banned := p.isForbidden(name); banned {
			return http.StatusForbidden, fmt.Errorf("stream %s is forbidden: %s", name, why)
		}
		dec, err := p.apply(r.Context(), sink, p.base(call, name, client, stream.KindPublish))
		if err != nil || !dec.Allow {
			return http.StatusForbidden, refusedBy(dec, err)
		}
		p.mu.Lock()
		p.active[name] = client
		p.mu.Unlock()
	case "play":
		if err := p.verify(p.cfg.PlayKey, name, f.Get("exp"), f.Get("sig"), true); err != nil {
			return http.StatusForbidden, err
		}
	case "update_publish", "update": // nginx-rtmp 1.2.2 sends update_publish (and update_play, ignored)
		if err := p.verify(p.cfg.PushKey, name, f.Get("exp"), f.Get("sig"), false); err != nil {
			return http.StatusForbidden, err
		}
		if why, cut := p.takeCut(name, client); cut {
			return http.StatusForbidden, fmt.Errorf("stream %s cut: %s", name, why)
		}
		dec, err := p.apply(r.Context(), sink, p.base(call, name, client, stream.KindUpdate))
		if err != nil || !dec.Allow {
			return http.StatusForbidden, refusedBy(dec, err)
		}
	case "publish_done":
		if err := p.verify(p.cfg.PushKey, name, f.Get("exp"), f.Get("sig"), false); err != nil {
			return http.StatusForbidden, err
		}
		p.mu.Lock()
		if p.active[name] == client {
			delete(p.active, name)
		}
		if p.dropped[name] == client {
			delete(p.dropped, name)
		}
		p.mu.Unlock()
		s := p.base(call, name, client, stream.KindDisconnect)
		// nginx-rtmp does not say why a push ended, so a disconnect is never a blip here.
		s.Reason = "nginx publish_done"
		if _, err := p.apply(r.Context(), sink, s); err != nil {
			return http.StatusInternalServerError, err
		}
		for _, rec := range p.takeRecords(client) {
			if _, err := p.apply(r.Context(), sink, rec); err != nil {
				return http.StatusInternalServerError, err
			}
		}
	case "record_done":
		if err := p.verify(p.cfg.PushKey, name, f.Get("exp"), f.Get("sig"), false); err != nil {
			return http.StatusForbidden, err
		}
		file := path.Base(f.Get("path"))
		if file == "." || file == "/" {
			return http.StatusBadRequest, &refusal{refused.Malformed, errors.New("record_done without a path")}
		}
		s := p.base(call, name, client, stream.KindRecord)
		s.ID = "nginx:record_done:" + file // record_unique makes the file name unique
		s.ReplayURL = p.cfg.HTTPBase + "/rec/" + file
		// nginx-rtmp closes the recording before it sends publish_done; the
		// replay is of the push that ends, so it goes to the Sink after the end.
		if p.holdRecord(name, client, s) {
			return http.StatusOK, nil
		}
		if _, err := p.apply(r.Context(), sink, s); err != nil {
			return http.StatusInternalServerError, err
		}
	}
	return http.StatusOK, nil
}

func (p *Provider) base(call, name, client string, kind stream.Kind) stream.Signal {
	at := p.now().UTC()
	return stream.Signal{
		ID:       fmt.Sprintf("nginx:%s:%s:%s:%d", call, name, client, at.UnixNano()),
		Provider: Name, Kind: kind, Stream: name, Sequence: client, At: at,
	}
}

func (p *Provider) apply(ctx context.Context, sink stream.Sink, s stream.Signal) (stream.Decision, error) {
	ctx, cancel := context.WithTimeout(ctx, sinkTimeout)
	defer cancel()
	dec, err := sink.Apply(ctx, s)
	if err != nil {
		return dec, fmt.Errorf("sink %s: %w", s.ID, err)
	}
	return dec, nil
}

func refusedBy(dec stream.Decision, err error) error {
	if err != nil {
		return err
	}
	return fmt.Errorf("refused: %s", dec.Reason)
}

// verify checks a signed query; expiry is checked only where a client is
// being admitted (publish, play): a push may outlive its URL.
func (p *Provider) verify(key, name, expRaw, sig string, checkExpiry bool) error {
	if expRaw == "" || sig == "" {
		return &refusal{refused.Malformed, errors.New("exp and sig are required")}
	}
	exp, err := strconv.ParseInt(expRaw, 10, 64)
	if err != nil {
		return &refusal{refused.Malformed, fmt.Errorf("exp %q: %w", expRaw, err)}
	}
	if subtle.ConstantTimeCompare([]byte(sig), []byte(Sign(key, name, exp))) != 1 {
		return &refusal{refused.Forged, fmt.Errorf("sig does not match stream %s", name)}
	}
	if checkExpiry && p.now().Unix() > exp {
		return &refusal{refused.Expired, fmt.Errorf("signature expired at %s", time.Unix(exp, 0).UTC().Format(time.RFC3339))}
	}
	return nil
}

// holdRecord keeps a recording of a push still on air until its
// publish_done; false when the push is not on air (or not known here).
func (p *Provider) holdRecord(name, client string, s stream.Signal) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.active[name] != client {
		return false
	}
	p.records[client] = append(p.records[client], s)
	return true
}

// takeRecords returns the recordings held for a push that has ended.
func (p *Provider) takeRecords(client string) []stream.Signal {
	p.mu.Lock()
	defer p.mu.Unlock()
	recs := p.records[client]
	delete(p.records, client)
	return recs
}

func (p *Provider) isForbidden(name string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	why, ok := p.forbidden[name]
	return why, ok
}

// takeCut says whether this update of (name, client) must be refused: the
// stream is forbidden, or Drop marked this push.
func (p *Provider) takeCut(name, client string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if why, ok := p.forbidden[name]; ok {
		return "forbidden: " + why, true
	}
	if push, ok := p.dropped[name]; ok && (push == "" || push == client) {
		delete(p.dropped, name)
		return "dropped", true
	}
	return "", false
}

// Drop makes the next on_update of stream's current push answer 403, which
// cuts it (within notify_update_timeout); the anchor may push again. When
// this process has not seen the push start (tide restarted), the next update
// of any push of stream is cut.
func (p *Provider) Drop(_ context.Context, streamName string) error {
	if err := checkStream(streamName); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dropped[streamName] = p.active[streamName] // "" when unknown
	return nil
}

// Forbid cuts stream at its next on_update and refuses its pushes until
// Resume. The ban is held in this process; the registry keeps the durable
// one (a banned session's signals are refused by the Sink too).
func (p *Provider) Forbid(_ context.Context, streamName, reason string) error {
	if err := checkStream(streamName); err != nil {
		return err
	}
	if reason == "" {
		reason = "forbidden"
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.forbidden[streamName] = reason
	return nil
}

// Resume lifts a Forbid.
func (p *Provider) Resume(_ context.Context, streamName string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.forbidden, streamName)
	return nil
}
