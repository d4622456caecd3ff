// Package experiment assigns users to the arms of A/B experiments and logs
// their exposure.
//
// Experiments are defined in a config file (JSON, loaded at start) as layers:
// a user's place in each layer is an independent, deterministic hash of the
// layer's salt and the user id, so layers are orthogonal and a user lands in
// at most one experiment per layer. Inside a layer each experiment takes a
// share of the traffic (disjoint ranges of 10,000 buckets); inside an
// experiment a second hash picks the arm by weight. An arm carries string
// params (for example "ranker": "popularity"), which the services read; a
// param key belongs to one layer only, so layers never fight over a switch.
//
// Assignments go back to clients in responses (the experiments field, which
// they copy onto the events that follow), can be stamped on tracked events
// server-side (Stamp, which Track runs through serving.WithEventStamp after
// applying the caller's identity), and are logged as exposures: a counter per
// arm on every response, and once per user, experiment, arm and day a log
// line and an EXPERIMENT_EXPOSURE event.
package experiment

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// Buckets is the resolution of traffic shares: a layer has this many
// buckets, so shares are exact to 0.01 %.
const Buckets = 10_000

// Config is the experiment definition file.
type Config struct {
	Layers []LayerConfig `json:"layers"`
}

// LayerConfig is one layer: experiments in it are mutually exclusive,
// experiments in different layers are independent.
type LayerConfig struct {
	Name string `json:"name"`
	// Salt seeds the layer's hash (default: the name). Changing it
	// reshuffles every user of the layer.
	Salt        string             `json:"salt,omitempty"`
	Experiments []ExperimentConfig `json:"experiments"`
}

// ExperimentConfig is one experiment.
type ExperimentConfig struct {
	// Name is the key of the assignment (experiments[name] = arm), unique
	// across layers.
	Name string `json:"name"`
	// Share is the fraction of the layer's users in the experiment, in (0, 1].
	Share float64 `json:"share"`
	// Surfaces limits the experiment to some surfaces ("rooms", "products",
	// "similar"); empty means every surface.
	Surfaces []string `json:"surfaces,omitempty"`
	// Off keeps the definition but assigns nobody (the share stays reserved).
	Off  bool        `json:"off,omitempty"`
	Arms []ArmConfig `json:"arms"`
}

// ArmConfig is one arm of an experiment.
type ArmConfig struct {
	Name string `json:"name"`
	// Weight is the arm's relative share of the experiment (> 0).
	Weight float64 `json:"weight"`
	// Params are the switches the services read, e.g. "ranker": "popularity".
	Params map[string]string `json:"params,omitempty"`
}

// ErrConfig is wrapped by every config validation error.
var ErrConfig = errors.New("experiment config")

// Parse reads a JSON config and validates it. Unknown fields are errors, so
// a typo never silently disables an experiment.
func Parse(r io.Reader) (Config, error) {
	var c Config
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// LoadFile parses the config file at path and builds its Assigner.
func LoadFile(path string) (*Assigner, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("experiment: %w", err)
	}
	c, err := Parse(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return New(c)
}

// Validate checks names, shares, weights and that each param key is set by
// one layer only.
func (c Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, args...))
	}
	layers := map[string]bool{}
	exps := map[string]bool{}
	paramLayer := map[string]string{}
	for li, l := range c.Layers {
		if l.Name == "" {
			return bad("layers[%d]: name is required", li)
		}
		if layers[l.Name] {
			return bad("layer %q defined twice", l.Name)
		}
		layers[l.Name] = true
		total := 0
		for ei, e := range l.Experiments {
			switch {
			case e.Name == "":
				return bad("layer %q experiments[%d]: name is required", l.Name, ei)
			case exps[e.Name]:
				return bad("experiment %q defined twice", e.Name)
			case !(e.Share > 0 && e.Share <= 1):
				return bad("experiment %q: share %v is not in (0, 1]", e.Name, e.Share)
			case len(e.Arms) == 0:
				return bad("experiment %q: no arms", e.Name)
			}
			exps[e.Name] = true
			total += shareBuckets(e.Share)
			arms := map[string]bool{}
			for ai, a := range e.Arms {
				switch {
				case a.Name == "":
					return bad("experiment %q arms[%d]: name is required", e.Name, ai)
				case arms[a.Name]:
					return bad("experiment %q: arm %q defined twice", e.Name, a.Name)
				case !(a.Weight > 0):
					return bad("experiment %q arm %q: weight %v must be positive", e.Name, a.Name, a.Weight)
				}
				arms[a.Name] = true
				for k := range a.Params {
					if owner, ok := paramLayer[k]; ok && owner != l.Name {
						return bad("param %q is set in layers %q and %q; a param belongs to one layer", k, owner, l.Name)
					}
					paramLayer[k] = l.Name
				}
			}
		}
		if total > Buckets {
			return bad("layer %q: experiment shares add up to %.4f, more than 1", l.Name, float64(total)/Buckets)
		}
	}
	return nil
}

// ParamValues lists the distinct values the config gives param key, so a
// service can reject a config that names a variant it does not have.
func (c Config) ParamValues(key string) []string {
	var out []string
	for _, l := range c.Layers {
		for _, e := range l.Experiments {
			for _, a := range e.Arms {
				if v, ok := a.Params[key]; ok && !slices.Contains(out, v) {
					out = append(out, v)
				}
			}
		}
	}
	return out
}

func shareBuckets(share float64) int { return int(share*Buckets + 0.5) }
