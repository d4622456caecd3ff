package tencent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tide-live/tide/live/stream"
	"github.com/tide-live/tide/live/stream/refused"
)

// Tencent's callback event types handled here.
const (
	eventDisconnect = 0
	eventPush       = 1
	eventRecord     = 100
	eventModeration = 317
)

const (
	maxCallbackBody = 1 << 20
	// sinkTimeout bounds the Sink's work so the answer beats Tencent's 20 s
	// retry deadline with room to spare.
	sinkTimeout = 5 * time.Second
	// dropTimeout bounds the DropLiveStream call made when the Sink refuses
	// a push (Tencent does not gate a push on the callback's answer).
	dropTimeout = 15 * time.Second
)

// callback is the union of the JSON fields of the handled event types
// (docs 267/38081, 38082, 38084).
type callback struct {
	T         *int64 `json:"t"`
	Sign      string `json:"sign"`
	EventType *int   `json:"event_type"`

	StreamID  string `json:"stream_id"`
	StreamID2 string `json:"streamId"` // moderation (317) spells it so
	Sequence  string `json:"sequence"`
	EventTime int64  `json:"event_time"`
	ErrCode   int    `json:"errcode"`
	ErrMsg    string `json:"errmsg"`

	FileID       string `json:"file_id"`
	RecordFileID string `json:"record_file_id"`
	VideoURL     string `json:"video_url"`
	Duration     int64  `json:"duration"` // seconds
	StartTime    int64  `json:"start_time"`
	EndTime      int64  `json:"end_time"`

	Suggestion string  `json:"suggestion"`
	Label      string  `json:"label"`
	SubLabel   string  `json:"subLabel"`
	Score      float64 `json:"score"`
	Img        string  `json:"img"`
}

// Callbacks returns the handler for Tencent CSS's callbacks: POST JSON with
// sign = MD5(CallbackKey + t), refused once t has passed. A verified callback
// goes to sink and is answered 200 {"code":0}; a Sink error is answered 500
// so Tencent retries it (under the same Signal.ID).
func (p *Provider) Callbacks(sink stream.Sink) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cb, status, why, err := p.verify(r)
		if err != nil {
			p.refused.Inc(Name, why)
			p.log.WarnContext(r.Context(), "tencent callback refused", "reason", string(why), "err", err, "remote", r.RemoteAddr)
			http.Error(w, err.Error(), status)
			return
		}
		sig, ok, err := p.signal(cb)
		if err != nil {
			p.refused.Inc(Name, refused.Malformed)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if ok {
			ctx, cancel := context.WithTimeout(r.Context(), sinkTimeout)
			dec, err := sink.Apply(ctx, sig)
			cancel()
			if err != nil {
				p.log.ErrorContext(r.Context(), "tencent callback: sink failed", "signal", sig.ID, "err", err)
				http.Error(w, "sink failed; retry", http.StatusInternalServerError)
				return
			}
			if sig.Kind == stream.KindPublish && !dec.Allow {
				p.dropRefused(sig.Stream, dec.Reason)
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"code":0}`)
	})
}

// verify reads and authenticates one callback.
func (p *Provider) verify(r *http.Request) (callback, int, refused.Reason, error) {
	var cb callback
	if r.Method != http.MethodPost {
		return cb, http.StatusMethodNotAllowed, refused.Malformed, fmt.Errorf("method %s: callbacks are POST", r.Method)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxCallbackBody+1))
	if err != nil || len(body) > maxCallbackBody {
		return cb, http.StatusBadRequest, refused.Malformed, fmt.Errorf("read body: %v (limit %d bytes)", err, maxCallbackBody)
	}
	if err := json.Unmarshal(body, &cb); err != nil {
		return cb, http.StatusBadRequest, refused.Malformed, fmt.Errorf("decode body: %w", err)
	}
	if cb.T == nil || cb.Sign == "" || cb.EventType == nil {
		return cb, http.StatusBadRequest, refused.Malformed, errors.New("t, sign and event_type are required")
	}
	if !equalHex(cb.Sign, CallbackSign(p.cfg.CallbackKey, *cb.T)) {
		return cb, http.StatusForbidden, refused.Forged, errors.New("sign does not match")
	}
	if p.now().Unix() > *cb.T {
		return cb, http.StatusForbidden, refused.Expired, fmt.Errorf("t %d has passed", *cb.T)
	}
	return cb, 0, "", nil
}

// CallbackSign is Tencent's callback signature, MD5(key + t).
func CallbackSign(key string, t int64) string { return md5hex(key + strconv.FormatInt(t, 10)) }

// signal turns a verified callback into a Signal; ok is false for event
// types tide does not act on (answered 200 and dropped).
func (p *Provider) signal(cb callback) (stream.Signal, bool, error) {
	s := stream.Signal{Provider: Name, Stream: cb.StreamID, Sequence: cb.Sequence}
	switch *cb.EventType {
	case eventPush, eventDisconnect:
		if cb.StreamID == "" || cb.Sequence == "" {
			return s, false, errors.New("stream_id and sequence are required")
		}
		s.ID = fmt.Sprintf("tencent:%d:%s:%d", *cb.EventType, cb.Sequence, cb.EventTime)
		s.At = time.Unix(cb.EventTime, 0).UTC()
		s.Kind = stream.KindPublish
		if *cb.EventType == eventDisconnect {
			s.Kind = stream.KindDisconnect
			s.Reason, s.Blip = disconnectReason(cb.ErrCode, cb.ErrMsg)
		}
	case eventRecord:
		if cb.StreamID == "" || cb.VideoURL == "" {
			return s, false, errors.New("stream_id and video_url are required")
		}
		id := cb.FileID
		if id == "" {
			id = cb.RecordFileID
		}
		if id == "" {
			id = fmt.Sprintf("%s:%d:%d", cb.StreamID, cb.StartTime, cb.EndTime)
		}
		s.ID = "tencent:100:" + id
		s.Kind = stream.KindRecord
		s.At = time.Unix(cb.EndTime, 0).UTC()
		s.ReplayURL = cb.VideoURL
		s.ReplayDuration = time.Duration(cb.Duration) * time.Second
	case eventModeration:
		if s.Stream == "" {
			s.Stream = cb.StreamID2
		}
		if s.Stream == "" {
			return s, false, errors.New("streamId is required")
		}
		s.Kind = stream.KindModeration
		s.Verdict = verdict(cb.Suggestion)
		s.Label = cb.Label
		if cb.SubLabel != "" {
			s.Label += "/" + cb.SubLabel
		}
		s.Score = cb.Score
		s.At = time.Unix(cb.EventTime, 0).UTC()
		if cb.EventTime == 0 {
			s.At = p.now().UTC()
		}
		// One verdict per snapshot: its image URL names it across retries.
		sum := sha256.Sum256([]byte(strings.Join([]string{s.Stream, cb.Img, cb.Suggestion, cb.Label, cb.SubLabel}, "\x00")))
		s.ID = "tencent:317:" + hex.EncodeToString(sum[:12])
	default:
		return s, false, nil
	}
	return s, true, nil
}

// verdict maps Tencent's suggestion; anything unrecognised goes to a person.
func verdict(suggestion string) stream.Verdict {
	switch strings.ToLower(suggestion) {
	case "block":
		return stream.VerdictBlock
	case "pass":
		return stream.VerdictPass
	}
	return stream.VerdictReview
}

// dropRefused cuts a push the Sink refused. It runs in the background so the
// callback is answered at once.
func (p *Provider) dropRefused(streamName, why string) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), dropTimeout)
		defer cancel()
		if err := p.Drop(ctx, streamName); err != nil {
			p.log.Error("tencent: could not drop a refused push", "stream", streamName, "reason", why, "err", err)
		}
	}()
}
