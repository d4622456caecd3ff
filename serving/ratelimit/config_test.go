package ratelimit

import (
	"testing"
	"time"
)

func TestParseRules(t *testing.T) {
	opts, err := ParseRules(" default=principal:20/s:60,ip:100/s ; /tide.v1.AuthService/Login=ip:120/m:10 ;/tide.v1.EventService/Track=principal:off")
	if err != nil {
		t.Fatal(err)
	}
	l := New(opts...)
	if want := (Rule{PerPrincipal: Limit{20, 60}, PerIP: Limit{100, 100}}); l.def != want {
		t.Errorf("default %+v, want %+v", l.def, want)
	}
	if got := l.rules["/tide.v1.AuthService/Login"]; got != (Rule{PerIP: Limit{2, 10}}) {
		t.Errorf("login %+v", got)
	}
	if got := l.rules["/tide.v1.EventService/Track"]; got != (Rule{}) {
		t.Errorf("track %+v, want unlimited", got)
	}
	for _, bad := range []string{"Login=ip:1/s", "/a/B=ip", "/a/B=ip:1/d", "/a/B=ip:x/s", "/a/B=ip:1/s:0", "/a/B=cpu:1/s"} {
		if _, err := ParseRules(bad); err == nil {
			t.Errorf("ParseRules(%q) succeeded", bad)
		}
	}
	// A parsed hourly rule refills as written.
	clk := newClock()
	opts, _ = ParseRules("default=principal:3600/h:1")
	l = New(append(opts, WithClock(clk.now))...)
	l.Allow("/p", ByPrincipal, "u")
	if ok, retry := l.Allow("/p", ByPrincipal, "u"); ok || retry != time.Second {
		t.Errorf("3600/h: ok=%v retry=%v, want a token a second", ok, retry)
	}
}
