package serving_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/proto/tide/v1/tidev1connect"
	"github.com/tide-live/tide/serving"
	"github.com/tide-live/tide/serving/auth"
	"github.com/tide-live/tide/serving/callerfacts"
	"github.com/tide-live/tide/serving/clientip"
)

// trackOverHTTP runs Track behind the real auth interceptor on a loopback
// listener, trusting proxies in trusted, and returns a client, a user token
// whose account was created at created, the stamper and the producer.
func trackOverHTTP(t *testing.T, created time.Time, trusted ...netip.Prefix) (tidev1connect.EventServiceClient, string, *callerfacts.Stamper, *fakeProducer) {
	t.Helper()
	tokens, err := auth.NewTokens([]auth.SigningKey{{ID: "k1", Secret: []byte("a test secret of at least 32 bytes")}})
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := tokens.IssueAccount("u_alice", created)
	if err != nil {
		t.Fatal(err)
	}
	facts, err := callerfacts.New(clientip.New(trusted...), []byte("ip hash key for tests"))
	if err != nil {
		t.Fatal(err)
	}
	srv := serving.New(serving.WithLogger(slog.New(slog.DiscardHandler)))
	srv.Use(auth.NewInterceptor(auth.NewAuthenticator(tokens, nil)))
	p := &fakeProducer{}
	serving.NewEventService(p, srv.Registry(), serving.WithCallerFacts(facts)).Mount(srv)
	addr := serveOn(t, srv)
	return tidev1connect.NewEventServiceClient(http.DefaultClient, "http://"+addr), token, facts, p
}

// forgedFacts is a user's event that states its own IP and account age.
func forgedFacts(id string) *tidev1.Event {
	return &tidev1.Event{EventId: id, Type: tidev1.EventType_EVENT_TYPE_ROOM_ENTER, Ts: time.Now().UnixMilli(),
		UserId: "u_alice", RoomId: "r1",
		Attrs: map[string]string{"ip": "203.0.113.250", "acct_created": "1", "from": "share"}}
}

func trackAs(t *testing.T, c tidev1connect.EventServiceClient, token, xff string, e *tidev1.Event) {
	t.Helper()
	req := connect.NewRequest(&tidev1.TrackRequest{Events: []*tidev1.Event{e}})
	req.Header().Set("Authorization", "Bearer "+token)
	if xff != "" {
		req.Header().Set("X-Forwarded-For", xff)
	}
	if _, err := c.Track(context.Background(), req); err != nil {
		t.Fatal(err)
	}
}

func producedAttrs(t *testing.T, p *fakeProducer, i int) map[string]string {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.records) <= i {
		t.Fatalf("%d records produced, want record %d", len(p.records), i)
	}
	var e tidev1.Event
	if err := proto.Unmarshal(p.records[i].Value, &e); err != nil {
		t.Fatal(err)
	}
	return e.GetAttrs()
}

// A client's own attrs["ip"] and attrs["acct_created"] are replaced by the
// server's facts, and an X-Forwarded-For from a peer that is not a trusted
// proxy is ignored: the stored IP is the connection's.
func TestTrackStampsCallerFacts(t *testing.T) {
	created := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	c, token, facts, p := trackOverHTTP(t, created) // no proxy trusted
	trackAs(t, c, token, "198.51.100.7", forgedFacts("e1"))
	attrs := producedAttrs(t, p, 0)
	loopback := facts.HashIP(netip.MustParseAddr("127.0.0.1"))
	if attrs["ip"] != loopback {
		t.Errorf(`attrs["ip"] = %q, want the hashed peer 127.0.0.1 (%q): the client's value or the spoofed X-Forwarded-For got through`, attrs["ip"], loopback)
	}
	if attrs["ip"] == facts.HashIP(netip.MustParseAddr("198.51.100.7")) {
		t.Error("the spoofed X-Forwarded-For of an untrusted peer was believed")
	}
	if want := strconv.FormatInt(created.UnixMilli(), 10); attrs["acct_created"] != want {
		t.Errorf(`attrs["acct_created"] = %q, want the token's %s`, attrs["acct_created"], want)
	}
	if attrs["from"] != "share" {
		t.Errorf("the client's other attrs were lost: %v", attrs)
	}
}

// Behind a trusted proxy the forwarded client is stamped.
func TestTrackBelievesTrustedProxy(t *testing.T) {
	c, token, facts, p := trackOverHTTP(t, time.Now(), netip.MustParsePrefix("127.0.0.0/8"))
	trackAs(t, c, token, "198.51.100.7", forgedFacts("e1"))
	if got, want := producedAttrs(t, p, 0)["ip"], facts.HashIP(netip.MustParseAddr("198.51.100.7")); got != want {
		t.Errorf(`attrs["ip"] = %q, want the forwarded client's %q`, got, want)
	}
}

// Without WithCallerFacts, or for a token without an account time, the
// client's values are removed, never kept.
func TestTrackRemovesUnknownFacts(t *testing.T) {
	p := &fakeProducer{}
	svc := serving.NewEventService(p, serving.New(serving.WithLogger(slog.New(slog.DiscardHandler))).Registry())
	ctx := auth.WithPrincipal(context.Background(), auth.Principal{Role: auth.RoleUser, UserID: "u_alice"})
	if _, err := svc.Track(ctx, connect.NewRequest(&tidev1.TrackRequest{Events: []*tidev1.Event{forgedFacts("e1")}})); err != nil {
		t.Fatal(err)
	}
	attrs := producedAttrs(t, p, 0)
	if _, ok := attrs["ip"]; ok {
		t.Errorf(`attrs["ip"] = %q kept from the client`, attrs["ip"])
	}
	if _, ok := attrs["acct_created"]; ok {
		t.Errorf(`attrs["acct_created"] = %q kept from the client`, attrs["acct_created"])
	}
}
