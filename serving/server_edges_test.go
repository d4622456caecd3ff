package serving_test

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tide-live/tide/serving"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// serveOn runs srv on a loopback listener until the test ends.
func serveOn(t *testing.T, srv *serving.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return ln.Addr().String()
}

func TestMetricsOnTheirOwnListener(t *testing.T) {
	metrics := freeAddr(t)
	srv := serving.New(serving.WithLogger(slog.New(slog.DiscardHandler)), serving.WithMetricsAddr(metrics))
	addr := serveOn(t, srv)
	if code := get(t, "http://"+addr+"/healthz"); code != 200 {
		t.Fatalf("/healthz on the main listener = %d", code)
	}
	if code := get(t, "http://"+addr+"/metrics"); code != http.StatusNotFound {
		t.Errorf("/metrics on the main listener = %d, want 404", code)
	}
	var body string
	waitUntil(t, func() bool {
		resp, err := http.Get("http://" + metrics + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		return resp.StatusCode == 200
	})
	if !strings.Contains(body, "go_goroutines") {
		t.Errorf("metrics listener did not serve the registry:\n%.300s", body)
	}
	if code := get(t, "http://"+metrics+"/healthz"); code != http.StatusNotFound {
		t.Errorf("the metrics listener serves /healthz (%d): it should serve /metrics only", code)
	}
}

// A client that never finishes its headers is cut off after ReadHeader.
func TestSlowHeadersAreCutOff(t *testing.T) {
	srv := serving.New(serving.WithLogger(slog.New(slog.DiscardHandler)),
		serving.WithTimeouts(serving.Timeouts{ReadHeader: 200 * time.Millisecond, Read: time.Second, Write: time.Second, Idle: time.Second}))
	addr := serveOn(t, srv)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n"); err != nil { // no blank line: headers never end
		t.Fatal(err)
	}
	start := time.Now()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = bufio.NewReader(c).ReadString('\n')
	if err == nil {
		// the server may answer 408 before closing; either way it hangs up
		_, err = io.ReadAll(c)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("connection held for %s with headers unfinished (err %v)", el, err)
	}
}

func TestDefaultTimeoutsAreSet(t *testing.T) {
	d := serving.DefaultTimeouts()
	if d.ReadHeader <= 0 || d.Read <= 0 || d.Write <= 0 || d.Idle <= 0 {
		t.Fatalf("a default timeout is unlimited: %+v", d)
	}
	if d.Write < 15*time.Second {
		t.Errorf("write timeout %s is shorter than Track's produce wait", d.Write)
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
