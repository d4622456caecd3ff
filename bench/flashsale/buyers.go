package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/tide-live/tide/proto/tide/v1/tidev1connect"
)

// The rpc phase's buyers are phones, not the server: with -separate-buyers
// they run in a process of their own (this binary with -buyers-process),
// which the bench tells, one line of JSON per round, where to buy and how
// much; it answers with the rate it bought at. Every order it counts was
// answered by the server, so it is durably written.

// buyRound is one round's command to the buyers' process.
type buyRound struct {
	URL   string `json:"url"`
	Sale  string `json:"sale"`
	C     int    `json:"c"`
	Units int64  `json:"units"`
}

// buyResult is the buyers' answer: units per second, or what went wrong.
type buyResult struct {
	Rate float64 `json:"rate"`
	Err  string  `json:"err,omitempty"`
}

// serveBuyers is the buyers' process: it runs the rounds read from stdin.
func serveBuyers(ctx context.Context) error {
	in, out := json.NewDecoder(bufio.NewReader(os.Stdin)), json.NewEncoder(os.Stdout)
	clients := map[string]tidev1connect.CommerceServiceClient{}
	for {
		var r buyRound
		if err := in.Decode(&r); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("buyers: %w", err)
		}
		client, ok := clients[r.URL]
		if !ok {
			client = commerceClient(r.URL, r.C)
			clients[r.URL] = client
		}
		rate, err := sellOut(ctx, r.C, r.Units, func(u int64) error { return submit(ctx, client, r.Sale, u) }, func() error { return nil })
		res := buyResult{Rate: rate}
		if err != nil {
			res.Err = err.Error()
		}
		if err := out.Encode(res); err != nil {
			return fmt.Errorf("buyers: %w", err)
		}
	}
}

// buyers is the bench's side of the buyers' process.
type buyers struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *json.Decoder
}

func startBuyers(ctx context.Context) (*buyers, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("buyers: %w", err)
	}
	b := &buyers{cmd: exec.CommandContext(ctx, exe, "-buyers-process")}
	b.cmd.Stderr = os.Stderr
	if b.in, err = b.cmd.StdinPipe(); err != nil {
		return nil, fmt.Errorf("buyers: %w", err)
	}
	stdout, err := b.cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("buyers: %w", err)
	}
	if err := b.cmd.Start(); err != nil {
		return nil, fmt.Errorf("buyers: %w", err)
	}
	b.out = json.NewDecoder(stdout)
	return b, nil
}

// round has the buyers' process sell out sale; it returns units per second.
func (b *buyers) round(r buyRound) (float64, error) {
	if err := json.NewEncoder(b.in).Encode(r); err != nil {
		return 0, fmt.Errorf("buyers: %w", err)
	}
	var res buyResult
	if err := b.out.Decode(&res); err != nil {
		return 0, fmt.Errorf("buyers: no answer: %w", err)
	}
	if res.Err != "" {
		return 0, errors.New(res.Err)
	}
	return res.Rate, nil
}

// cpu is the CPU time the buyers' process has used so far.
func (b *buyers) cpu() time.Duration {
	if b == nil {
		return 0
	}
	return procCPU(fmt.Sprintf("/proc/%d/stat", b.cmd.Process.Pid))
}

func (b *buyers) close() {
	b.in.Close()
	_ = b.cmd.Wait()
}

// commerceClient is a CommerceService client of url with c connections.
func commerceClient(url string, c int) tidev1connect.CommerceServiceClient {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = c
	return tidev1connect.NewCommerceServiceClient(&http.Client{Transport: tr}, url)
}

// procCPU reads user and system time from a /proc/<pid>/stat file; name,
// when not empty, must be the process's.
func procCPU(stat string, name ...string) time.Duration {
	b, err := os.ReadFile(stat)
	if err != nil {
		return 0
	}
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open || (len(name) > 0 && s[open+1:end] != name[0]) {
		return 0
	}
	f := strings.Fields(s[end+1:])
	if len(f) < 13 {
		return 0
	}
	// Fields after the name: state(0) … utime(11) stime(12).
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+st) * time.Second / clockTick
}
