package nginxtest

import (
	"bytes"
	"context"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// Tools are the ffmpeg and ffprobe binaries a test pushes and pulls with.
type Tools struct{ FFmpeg, FFprobe string }

// RequireTools is Require for ffmpeg and ffprobe.
func RequireTools(t testing.TB) Tools {
	t.Helper()
	p := Require(t, "ffmpeg", "ffprobe")
	return Tools{FFmpeg: p[0], FFprobe: p[1]}
}

// Push is a running ffmpeg push.
type Push struct {
	cmd  *exec.Cmd
	out  *bytes.Buffer
	done chan error
	err  error
}

// Push pushes a generated test pattern and tone to push for d; it is killed
// when the test ends.
func (tl Tools) Push(t testing.TB, push string, d time.Duration) *Push {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d+30*time.Second)
	cmd := exec.CommandContext(ctx, tl.FFmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
		"-f", "lavfi", "-i", "testsrc=size=320x240:rate=15",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
		"-t", strconv.FormatFloat(d.Seconds(), 'f', 1, 64),
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-pix_fmt", "yuv420p", "-g", "15",
		"-c:a", "aac", "-b:a", "64k", "-f", "flv", push)
	out := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start ffmpeg: %v", err)
	}
	r := &Push{cmd: cmd, out: out, done: make(chan error, 1)}
	go func() { r.done <- cmd.Wait(); cancel() }()
	t.Cleanup(func() {
		if !r.Exited() {
			_ = cmd.Process.Kill()
			_ = r.Wait(5 * time.Second)
		}
	})
	return r
}

// Wait waits up to timeout for ffmpeg to exit and returns its error; a
// timeout leaves it running and returns context.DeadlineExceeded.
func (r *Push) Wait(timeout time.Duration) error {
	if r.done == nil {
		return r.err
	}
	select {
	case r.err = <-r.done:
		r.done = nil
		return r.err
	case <-time.After(timeout):
		return context.DeadlineExceeded
	}
}

// Exited reports whether ffmpeg has exited.
func (r *Push) Exited() bool { return r.done == nil || r.Wait(0) != context.DeadlineExceeded }

// Output is what ffmpeg printed so far (its errors).
func (r *Push) Output() string { return r.out.String() }

// Probe runs ffprobe on u and prints the entries asked for (e.g.
// "stream=codec_type", "format=duration"), one per line.
func (tl Tools) Probe(u, entries string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, tl.FFprobe, "-v", "error", "-show_entries", entries, "-of", "csv=p=0", u).CombinedOutput()
	return string(out), err
}

// ProbeUntil retries Probe of u's streams until it succeeds (an HLS pull
// answers once its first segments exist) or timeout passes.
func (tl Tools) ProbeUntil(u string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		out, err := tl.Probe(u, "stream=codec_type")
		if err == nil || time.Now().After(deadline) {
			return out, err
		}
		time.Sleep(500 * time.Millisecond)
	}
}
