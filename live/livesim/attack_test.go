package livesim

import (
	"testing"
	"time"

	"github.com/tide-live/tide/ingest"
)

func TestAttackersOffByDefault(t *testing.T) {
	start := time.Date(2026, 11, 30, 16, 0, 0, 0, time.UTC)
	plain := New(WithSeed(3), WithUsers(300), WithMerchants(20), WithStart(start))
	if r := plain.Role("u_cf1"); r != RoleNormal || len(plain.Actors()) != 0 {
		t.Fatalf("without WithAttackers: role %v, %d actors", r, len(plain.Actors()))
	}
	with := New(WithSeed(3), WithUsers(300), WithMerchants(20), WithStart(start), WithAttackers(DefaultAttackers()))
	// The world's own users do the same with attackers added.
	var own, actors int
	last := int64(0)
	limits := ingest.DefaultLimits()
	roles := map[Role]int{}
	for range 200_000 {
		e := with.Next()
		if e.Ts < last {
			t.Fatalf("ts went back from %d to %d", last, e.Ts)
		}
		last = e.Ts
		if err := limits.Validate(e, time.UnixMilli(e.Ts)); err != nil {
			t.Fatalf("event %+v does not pass ingest validation: %v", e, err)
		}
		if r := with.Role(e.UserId); r != RoleNormal {
			actors++
			roles[r]++
			continue
		}
		if e.UserId == "" {
			continue
		}
		own++
		for {
			p := plain.Next()
			if p.UserId == "" {
				continue
			}
			if p.UserId != e.UserId || p.Type != e.Type || p.Ts != e.Ts {
				t.Fatalf("own event %d differs: %v %s %d vs %v %s %d", own, e.Type, e.UserId, e.Ts, p.Type, p.UserId, p.Ts)
			}
			if e.Type == tOrderCreated && (e.Attrs["ip"] == "" || e.Attrs["acct_created"] == "") {
				t.Fatalf("order without the server's attributes: %v", e.Attrs)
			}
			break
		}
	}
	for _, r := range []Role{RoleClickFarm, RoleViewBot, RoleBrushRing, RoleBigSpender, RoleFan} {
		if roles[r] == 0 {
			t.Errorf("no events of %v", r)
		}
	}
	if n := len(with.Actors()); n < 200 {
		t.Errorf("%d actors", n)
	}
	t.Logf("%d own events, %d actor events %v", own, actors, roles)
}
