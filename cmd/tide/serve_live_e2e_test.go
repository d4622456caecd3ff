package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/url"
	"path"
	"strconv"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tide-live/tide/live/stream/nginx"
	"github.com/tide-live/tide/live/stream/nginx/nginxtest"
	"github.com/tide-live/tide/live/stream/refused"
	"github.com/tide-live/tide/live/stream/refused/refusedtest"
	tidev1 "github.com/tide-live/tide/proto/tide/v1"
)

// liveE2E is a liveServe whose provider is a private nginx-rtmp.
type liveE2E struct {
	*liveServe
	tools   nginxtest.Tools
	prov    *nginx.Provider
	refused *prometheus.Registry
}

// TestServeLiveEndToEnd is issue 8's proof on real servers: a merchant
// schedules sessions through LiveService and pushes generated video with
// ffmpeg through nginx-rtmp, whose hooks reach tide serve's registry; the
// room goes live in FeedService.Rooms, is pulled with ffprobe from the
// card's URL, leaves the feed when the push stops and gets its replay; bad
// signatures are refused by nginx because the hook said no; an admin ban
// cuts a running push through on_update.
func TestServeLiveEndToEnd(t *testing.T) {
	e := startLiveE2E(t)
	ctx := context.Background()

	t.Run("live, pulled, stopped, replayed", func(t *testing.T) {
		t.Parallel()
		roomID, sid, push := e.scheduled(t, "e2e 直播")
		ff := e.tools.Push(t, push, 8*time.Second)
		card := waitRoom(t, e.feed, roomID, true)
		if card.LiveSessionId != sid || card.PullHls == "" || card.Title != "e2e 直播" {
			t.Fatalf("live card %v", card)
		}
		if out, err := e.tools.ProbeUntil(card.PullHls, 15*time.Second); err != nil || !strings.Contains(out, "video") {
			t.Fatalf("ffprobe of the card's HLS pull %s: %v %q", card.PullHls, err, out)
		}
		page, err := e.viewer.GetRoom(ctx, connect.NewRequest(&tidev1.GetRoomRequest{RoomId: roomID}))
		if err != nil {
			t.Fatal(err)
		}
		if out, err := e.tools.Probe(page.Msg.GetPull().GetRtmp(), "stream=codec_type"); err != nil || !strings.Contains(out, "video") {
			t.Errorf("ffprobe of GetRoom's RTMP pull: %v %q", err, out)
		}
		if err := ff.Wait(30 * time.Second); err != nil {
			t.Fatalf("ffmpeg: %v\n%s", err, ff.Output())
		}
		waitRoom(t, e.feed, roomID, false)
		replay := e.waitReplay(t, roomID, sid)
		if out, err := e.tools.Probe(replay.Url, "format=duration"); err != nil || out == "" {
			t.Errorf("ffprobe of the replay %s: %v %q", replay.Url, err, out)
		}
		if st := e.state(t, roomID, sid); st != tidev1.SessionState_SESSION_STATE_REPLAY_READY {
			t.Errorf("session after its replay: %s", st)
		}
	})

	t.Run("forged and expired signatures refused", func(t *testing.T) {
		t.Parallel()
		roomID, sid, push := e.scheduled(t, "e2e 伪造")
		u, err := url.Parse(push)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		exp, err := strconv.ParseInt(q.Get("exp"), 10, 64)
		if err != nil {
			t.Fatalf("push URL %s: exp: %v", push, err)
		}
		q.Set("sig", nginx.Sign("not-our-key", sid, exp)) // well-formed, signed with the wrong key
		u.RawQuery = q.Encode()
		expired, err := e.prov.PushURL(sid, time.Now().Add(-time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		for name, bad := range map[string]string{"forged": u.String(), "expired": expired} {
			ff := e.tools.Push(t, bad, 4*time.Second)
			if err := ff.Wait(20 * time.Second); err == nil {
				t.Errorf("ffmpeg pushed with a %s signature:\n%s", name, ff.Output())
			}
		}
		if st := e.state(t, roomID, sid); st != tidev1.SessionState_SESSION_STATE_SCHEDULED {
			t.Errorf("session after refused pushes: %s", st)
		}
		if got := refusedtest.Gather(t, e.refused); got["nginx/forged"] < 1 || got["nginx/expired"] < 1 {
			t.Errorf("refused counter %v, want forged and expired counted", got)
		}
	})

	t.Run("ban cuts the push", func(t *testing.T) {
		t.Parallel()
		roomID, sid, push := e.scheduled(t, "e2e 封禁")
		ff := e.tools.Push(t, push, 60*time.Second)
		waitRoom(t, e.feed, roomID, true)
		if _, err := e.admin.BanSession(ctx, connect.NewRequest(&tidev1.BanSessionRequest{SessionId: sid, Reason: "违规内容"})); err != nil {
			t.Fatal(err)
		}
		banned := time.Now()
		waitRoom(t, e.feed, roomID, false)
		_ = ff.Wait(15 * time.Second)
		if !ff.Exited() {
			t.Fatal("ffmpeg still pushing 15 s after BanSession")
		}
		t.Logf("push cut %v after BanSession", time.Since(banned).Round(100*time.Millisecond))
		if st := e.state(t, roomID, sid); st != tidev1.SessionState_SESSION_STATE_BANNED {
			t.Errorf("session after the ban: %s", st)
		}
		again := e.tools.Push(t, push, 3*time.Second)
		if err := again.Wait(20 * time.Second); err == nil {
			t.Errorf("a banned session pushed again:\n%s", again.Output())
		}
	})
}

func startLiveE2E(t *testing.T) *liveE2E {
	t.Helper()
	tools := nginxtest.RequireTools(t)
	// nginx needs tide's hook URL and tide's provider needs nginx's ports:
	// listen first, start nginx, then build the server on the listener.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	const playKey = "e2e-play-key"
	ngx := nginxtest.Start(t, "http://"+ln.Addr().String()+liveCallbackPrefix+nginx.Name, playKey)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("nginx error log:\n%s", ngx.ErrorLog())
		}
	})
	reg := prometheus.NewRegistry()
	counter, err := refused.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	prov, err := nginx.New(nginx.Config{RTMPBase: ngx.RTMPBase(), HTTPBase: ngx.HTTPBase(), PushKey: "e2e-push-key", PlayKey: playKey},
		nginx.WithRefusedCounter(counter), nginx.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	return &liveE2E{liveServe: startLiveServe(t, ln, prov), tools: tools, prov: prov, refused: reg}
}

// scheduled creates a room, schedules a session in it and returns the room,
// the session and the push URL LiveService signed for it.
func (e *liveServe) scheduled(t *testing.T, title string) (roomID, sessionID, push string) {
	t.Helper()
	ctx := context.Background()
	room, err := e.merchant.CreateRoom(ctx, connect.NewRequest(&tidev1.CreateRoomRequest{Title: title, AnchorName: "小美",
		Category: "女装", CoverUrl: "https://img.test/cover.jpg"}))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	sess, err := e.merchant.ScheduleSession(ctx, connect.NewRequest(&tidev1.ScheduleSessionRequest{RoomId: room.Msg.Room.RoomId,
		StartTime: now.Add(time.Minute).UnixMilli(), EndTime: now.Add(time.Hour).UnixMilli()}))
	if err != nil {
		t.Fatal(err)
	}
	sid := sess.Msg.Session.SessionId
	res, err := e.merchant.PushURL(ctx, connect.NewRequest(&tidev1.PushURLRequest{SessionId: sid}))
	if err != nil {
		t.Fatal(err)
	}
	if u, err := url.Parse(res.Msg.PushUrl); err != nil || u.Scheme != "rtmp" || path.Base(u.Path) != sid {
		t.Fatalf("push URL %q for session %s", res.Msg.PushUrl, sid)
	}
	return room.Msg.Room.RoomId, sid, res.Msg.PushUrl
}

// state is the session's state as the merchant's ListRooms shows it.
func (e *liveServe) state(t *testing.T, roomID, sessionID string) tidev1.SessionState {
	t.Helper()
	res, err := e.merchant.ListRooms(context.Background(), connect.NewRequest(&tidev1.ListRoomsRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Msg.Rooms {
		for _, s := range r.Sessions {
			if r.Room.RoomId == roomID && s.SessionId == sessionID {
				return s.State
			}
		}
	}
	t.Fatalf("session %s not in ListRooms", sessionID)
	return tidev1.SessionState_SESSION_STATE_UNSPECIFIED
}

// waitReplay polls GetRoom until the session's replay is listed.
func (e *liveServe) waitReplay(t *testing.T, roomID, sessionID string) *tidev1.Replay {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		page, err := e.viewer.GetRoom(context.Background(), connect.NewRequest(&tidev1.GetRoomRequest{RoomId: roomID}))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Msg.Replays {
			if r.SessionId == sessionID && r.Url != "" {
				return r
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no replay of %s in GetRoom after 20s: %v", sessionID, page.Msg)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
