package ranker

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// ErrMalformed is wrapped by every error about bad input data.
var ErrMalformed = errors.New("malformed interactions")

// ReadTSV reads a tab-separated log whose header is `user_id	item_id	time`
// with an optional fourth column `weight`. Times are Unix seconds. Rows
// without a weight get weight 1. A malformed line is an error that names its
// line number and wraps ErrMalformed.
func ReadTSV(r io.Reader) (*Interactions, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	x := NewInteractions()
	line := 0
	withWeight := false
	var fields [5][]byte
	for {
		raw, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("line %d: longer than %d bytes: %w", line+1, br.Size(), ErrMalformed)
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("reading interactions: %w", err)
		}
		if len(raw) > 0 {
			line++
			text := bytes.TrimRight(raw, "\r\n")
			n := splitTabs(text, fields[:])
			switch {
			case line == 1:
				if e := checkHeader(fields[:n]); e != nil {
					return nil, e
				}
				withWeight = n == 4
			case len(text) == 0:
				// blank lines are allowed (e.g. a trailing one)
			default:
				if e := addRow(x, fields[:n], withWeight); e != nil {
					return nil, fmt.Errorf("line %d: %w", line, e)
				}
			}
		}
		if err != nil {
			break
		}
	}
	if line == 0 {
		return nil, fmt.Errorf("empty input, want a header `user_id\titem_id\ttime`: %w", ErrMalformed)
	}
	return x, nil
}

func checkHeader(f [][]byte) error {
	ok := (len(f) == 3 || len(f) == 4) && string(f[0]) == "user_id" && string(f[1]) == "item_id" && string(f[2]) == "time"
	if ok && len(f) == 4 && string(f[3]) != "weight" {
		ok = false
	}
	if !ok {
		return fmt.Errorf("line 1: header %q, want `user_id\\titem_id\\ttime[\\tweight]`: %w", bytes.Join(f, []byte("\t")), ErrMalformed)
	}
	return nil
}

func addRow(x *Interactions, f [][]byte, withWeight bool) error {
	want := 3
	if withWeight {
		want = 4
	}
	if len(f) != want {
		return fmt.Errorf("%d fields, want %d: %w", len(f), want, ErrMalformed)
	}
	if len(f[0]) == 0 || len(f[1]) == 0 {
		return fmt.Errorf("empty user or item id: %w", ErrMalformed)
	}
	t, err := strconv.ParseInt(string(f[2]), 10, 64)
	if err != nil {
		return fmt.Errorf("time %q is not Unix seconds: %w", f[2], ErrMalformed)
	}
	w := float32(1)
	if withWeight {
		v, err := strconv.ParseFloat(string(f[3]), 32)
		if err != nil || !(v > 0) {
			return fmt.Errorf("weight %q is not a positive number: %w", f[3], ErrMalformed)
		}
		w = float32(v)
	}
	x.Add(string(f[0]), string(f[1]), t, w)
	return nil
}

// splitTabs splits s on tabs into dst and returns the field count. A line
// with len(dst) or more fields reports len(dst), which callers reject.
func splitTabs(s []byte, dst [][]byte) int {
	n := 0
	for n < len(dst) {
		i := bytes.IndexByte(s, '\t')
		if i < 0 {
			dst[n] = s
			return n + 1
		}
		dst[n] = s[:i]
		n++
		s = s[i+1:]
	}
	return n
}
