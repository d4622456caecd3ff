package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime/pprof"
	"time"
)

// The load generator runs in a process of its own (this binary started
// with -loadgen), as the users' phones are not in the server: its
// goroutines, connections and decoded responses do not share the server's
// heap, garbage collector or Go scheduler. The two processes still share
// the machine's cores, for the peak as for the latencies. The bench sends
// it one JSON line of setup and then one command per line on its stdin;
// it answers each command with one JSON line on its stdout.

// loadSetup is the load generator's first line: where the endpoints are
// and the session tokens to call them with (one picked at random per
// request).
type loadSetup struct {
	URLs   map[string]string `json:"urls"` // target name → base URL
	Tokens []string          `json:"tokens"`
	Page   int32             `json:"page"`
	Conns  int               `json:"conns"` // concurrent callers to keep connections for
	Gzip   bool              `json:"gzip"`
	// CPUProfile, if set, is where the load generator writes a CPU profile
	// of everything it does.
	CPUProfile string `json:"cpu_profile,omitempty"`
}

// loadCmd is one measurement: a closed loop of Conc callers, or an open
// loop offering Rate requests/s from Conc workers, against a target for
// Dur.
type loadCmd struct {
	Op     string        `json:"op"` // "closed" or "open"
	Target string        `json:"target"`
	Conc   int           `json:"conc,omitempty"`
	Rate   int           `json:"rate,omitempty"`
	Dur    time.Duration `json:"dur"`
}

// loadResult answers a loadCmd.
type loadResult struct {
	QPS      float64         `json:"qps,omitempty"`       // closed
	Lat      []time.Duration `json:"lat,omitempty"`       // open: every request's latency from its scheduled time, sorted
	Failed   int             `json:"failed,omitempty"`    // open: requests that got an error
	FirstErr string          `json:"first_err,omitempty"` // open: the first of those errors
	MaxLate  time.Duration   `json:"max_late,omitempty"`  // open: how late the generator sent a request at worst
	CPU      time.Duration   `json:"cpu,omitempty"`       // the load generator's own CPU time for the command
	Err      string          `json:"err,omitempty"`       // the command could not run
}

// runLoadgen is the load generator process: it reads the setup and the
// commands from stdin until it closes.
func runLoadgen(ctx context.Context) error {
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	dec := json.NewDecoder(in)
	var setup loadSetup
	if err := dec.Decode(&setup); err != nil {
		return fmt.Errorf("loadgen setup: %w", err)
	}
	if len(setup.Tokens) == 0 {
		return errors.New("loadgen setup: no tokens")
	}
	if setup.CPUProfile != "" {
		stop, err := record(setup.CPUProfile, pprof.StartCPUProfile, pprof.StopCPUProfile)
		if err != nil {
			return fmt.Errorf("loadgen profile: %w", err)
		}
		defer stop()
	}
	calls := map[string]callerSource{}
	for name, url := range setup.URLs {
		calls[name] = roomsCaller(client(url, setup.Conns, setup.Gzip), setup.Tokens, setup.Page)
	}
	enc := json.NewEncoder(os.Stdout)
	for {
		var c loadCmd
		if err := dec.Decode(&c); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("loadgen command: %w", err)
		}
		res := runLoadCmd(ctx, calls, c)
		if err := enc.Encode(res); err != nil {
			return fmt.Errorf("loadgen answer: %w", err)
		}
	}
}

// runLoadCmd runs one command and says what it cost the load generator.
func runLoadCmd(ctx context.Context, calls map[string]callerSource, c loadCmd) loadResult {
	cpu := selfCPU()
	r := loadCmdResult(ctx, calls, c)
	r.CPU = selfCPU() - cpu
	return r
}

func loadCmdResult(ctx context.Context, calls map[string]callerSource, c loadCmd) loadResult {
	call, ok := calls[c.Target]
	if !ok {
		return loadResult{Err: fmt.Sprintf("no target %q", c.Target)}
	}
	if c.Conc <= 0 || (c.Op == "open" && c.Rate <= 0) {
		return loadResult{Err: fmt.Sprintf("%s %s: conc %d, rate %d: both must be positive", c.Op, c.Target, c.Conc, c.Rate)}
	}
	switch c.Op {
	case "closed":
		qps, err := closedLoop(ctx, call, c.Conc, c.Dur)
		if err != nil {
			return loadResult{Err: err.Error()}
		}
		return loadResult{QPS: qps}
	case "open":
		o := openLoop(ctx, call, c.Rate, c.Conc, c.Dur)
		r := loadResult{Lat: o.lat, Failed: o.failed, MaxLate: o.maxLate}
		if o.firstErr != nil {
			r.FirstErr = o.firstErr.Error()
		}
		return r
	}
	return loadResult{Err: fmt.Sprintf("unknown op %q", c.Op)}
}

// loadgen is the bench's side of the load generator process.
type loadgen struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	enc *json.Encoder
	dec *json.Decoder
}

// startLoadgen starts this binary as the load generator and sends it the
// setup. Its stderr (progress lines) goes to ours.
func startLoadgen(ctx context.Context, setup loadSetup) (*loadgen, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	cmd := exec.CommandContext(ctx, exe, "-loadgen")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	g := &loadgen{cmd: cmd, in: in, enc: json.NewEncoder(in), dec: json.NewDecoder(bufio.NewReaderSize(out, 1<<20))}
	if err := g.enc.Encode(setup); err != nil {
		g.close()
		return nil, fmt.Errorf("loadgen setup: %w", err)
	}
	return g, nil
}

// do runs one command in the load generator.
func (g *loadgen) do(c loadCmd) (loadResult, error) {
	if err := g.enc.Encode(c); err != nil {
		return loadResult{}, fmt.Errorf("loadgen: %w", err)
	}
	var r loadResult
	if err := g.dec.Decode(&r); err != nil {
		return loadResult{}, fmt.Errorf("loadgen: no answer: %w", err)
	}
	if r.Err != "" {
		return r, errors.New(r.Err)
	}
	return r, nil
}

// closed measures the sustained rate of conc callers back to back.
func (g *loadgen) closed(target string, conc int, d time.Duration) (loadResult, error) {
	return g.do(loadCmd{Op: "closed", Target: target, Conc: conc, Dur: d})
}

// open offers rate requests/s for d from a pool of workers.
func (g *loadgen) open(target string, rate, workers int, d time.Duration) (loadResult, error) {
	return g.do(loadCmd{Op: "open", Target: target, Rate: rate, Conc: workers, Dur: d})
}

// close ends the load generator (its stdin closes) and waits for it.
func (g *loadgen) close() error {
	g.in.Close()
	return g.cmd.Wait()
}
