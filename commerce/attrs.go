package commerce

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Attrs are a product's attributes (颜色, 尺码, 材质, …). A key may have
// several values: a product offered in several colours lists them all, in
// display order. In JSON a value is a string or a list of strings
// ({"颜色":["黑色","白色"],"尺码":"M"}); numbers and booleans are taken as
// their text.
type Attrs map[string][]string

// UnmarshalJSON accepts both value shapes.
func (a *Attrs) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		*a = nil
		return nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("attrs must be an object of strings or lists of strings: %w", err)
	}
	out := make(Attrs, len(raw))
	for k, v := range raw {
		v = bytes.TrimSpace(v)
		switch {
		case len(v) == 0 || string(v) == "null":
		case v[0] == '[':
			var list []json.RawMessage
			if err := json.Unmarshal(v, &list); err != nil {
				return fmt.Errorf("attrs.%s: %w", k, err)
			}
			for _, e := range list {
				s, err := scalar(e)
				if err != nil {
					return fmt.Errorf("attrs.%s: %w", k, err)
				}
				out[k] = append(out[k], s)
			}
		default:
			s, err := scalar(v)
			if err != nil {
				return fmt.Errorf("attrs.%s: %w", k, err)
			}
			out[k] = []string{s}
		}
	}
	*a = out
	return nil
}

// MarshalJSON writes a single value as a string and several as a list.
func (a Attrs) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(a))
	for k, v := range a {
		if len(v) == 1 {
			m[k] = v[0]
		} else {
			m[k] = v
		}
	}
	return json.Marshal(m)
}

func scalar(v json.RawMessage) (string, error) {
	v = bytes.TrimSpace(v)
	if len(v) > 0 && v[0] == '"' {
		var s string
		err := json.Unmarshal(v, &s)
		return s, err
	}
	var x any
	if err := json.Unmarshal(v, &x); err != nil {
		return "", err
	}
	switch x.(type) {
	case float64, bool:
		return string(v), nil
	}
	return "", fmt.Errorf("%s is neither a string nor a list of strings", v)
}

// normalized trims keys and values, drops empty ones and repeated values of
// a key (keeping the first), and returns nil for no attributes.
func (a Attrs) normalized() Attrs {
	if len(a) == 0 {
		return nil
	}
	keys := make([]string, 0, len(a))
	for k := range a {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic when " 颜色" and "颜色" merge
	out := make(Attrs, len(a))
	for _, k := range keys {
		vs := a[k]
		k = strings.TrimSpace(k)
		if k == "" {
			continue
		}
		for _, v := range vs {
			if v = strings.TrimSpace(v); v != "" && !contains(out[k], v) {
				out[k] = append(out[k], v)
			}
		}
	}
	for k, vs := range out {
		if len(vs) == 0 {
			delete(out, k)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
