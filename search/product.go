package search

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Unbranded is the brand value that marks a product without a brand.
const Unbranded = "无品牌"

// Product is the document the search index holds. It mirrors the catalog's
// JSON Lines export (one object per line) and has no dependency on the
// commerce package, so the index can be fed from any source.
type Product struct {
	ID          string    `json:"id"`
	MerchantID  string    `json:"merchant_id"`
	Title       string    `json:"title"`
	Brand       string    `json:"brand,omitempty"`    // "耐克/Nike", "华为", "无品牌" or empty
	Category    string    `json:"category,omitempty"` // "一级/二级"
	PriceFen    int64     `json:"price_fen"`
	Sales       int64     `json:"sales"`
	Description string    `json:"description,omitempty"`
	Attrs       Attrs     `json:"attrs,omitempty"`
	LiveNow     bool      `json:"live_now,omitempty"`     // shown in a live room right now
	ListedAt    time.Time `json:"listed_at,omitzero"`     // for "newest" sorting; zero when unknown
	LiveRoomID  string    `json:"live_room_id,omitempty"` // the live room showing it, when known (see Index.Upsert)
}

// Attrs are a product's attributes. In JSON a value is either a string or a
// list of strings ({"颜色":["黑色","白色"],"尺码":"M"}); in Go it is always a
// list.
type Attrs map[string][]string

// UnmarshalJSON accepts both attribute value shapes: a string or a list of
// strings. Numbers and booleans are accepted as their text.
func (a *Attrs) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("attrs: %w", err)
	}
	out := make(Attrs, len(raw))
	for k, v := range raw {
		v = bytes.TrimSpace(v)
		switch {
		case len(v) == 0 || string(v) == "null":
			continue
		case v[0] == '[':
			var list []json.RawMessage
			if err := json.Unmarshal(v, &list); err != nil {
				return fmt.Errorf("attrs[%q]: %w", k, err)
			}
			for _, e := range list {
				s, err := scalarText(e)
				if err != nil {
					return fmt.Errorf("attrs[%q]: %w", k, err)
				}
				if s != "" {
					out[k] = append(out[k], s)
				}
			}
		default:
			s, err := scalarText(v)
			if err != nil {
				return fmt.Errorf("attrs[%q]: %w", k, err)
			}
			if s != "" {
				out[k] = []string{s}
			}
		}
	}
	*a = out
	return nil
}

// MarshalJSON writes single values as strings and several as lists, the
// shape the catalog export uses.
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

func scalarText(v json.RawMessage) (string, error) {
	if len(v) > 0 && v[0] == '"' {
		var s string
		err := json.Unmarshal(v, &s)
		return strings.TrimSpace(s), err
	}
	var x any
	if err := json.Unmarshal(v, &x); err != nil {
		return "", err
	}
	switch x.(type) {
	case float64, bool:
		return strings.TrimSpace(string(v)), nil
	}
	return "", fmt.Errorf("value %s is neither a string nor a list of strings", v)
}

// Values returns every attribute value, keys in sorted order.
func (a Attrs) Values() []string {
	keys := make([]string, 0, len(a))
	for k := range a {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		out = append(out, a[k]...)
	}
	return out
}

// BrandNames splits a brand into its names: "耐克/Nike" → [耐克 Nike].
// Unbranded products ("无品牌" or empty) have none.
func (p *Product) BrandNames() []string {
	return brandNames(p.Brand)
}

func brandNames(brand string) []string {
	brand = strings.TrimSpace(brand)
	if brand == "" || brand == Unbranded {
		return nil
	}
	var out []string
	for _, part := range strings.FieldsFunc(brand, func(r rune) bool { return r == '/' || r == '／' || r == '|' }) {
		if part = strings.TrimSpace(part); part != "" && part != Unbranded {
			out = append(out, part)
		}
	}
	return out
}

// CategoryLevels splits the category path: "女装/连衣裙" → [女装 连衣裙].
func (p *Product) CategoryLevels() []string {
	var out []string
	for _, part := range strings.Split(p.Category, "/") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// categoryPaths returns every prefix path: [女装 女装/连衣裙].
func (p *Product) categoryPaths() []string {
	levels := p.CategoryLevels()
	out := make([]string, len(levels))
	for i := range levels {
		out[i] = strings.Join(levels[:i+1], "/")
	}
	return out
}

// validate checks the fields the index relies on.
func (p *Product) validate() error {
	switch {
	case strings.TrimSpace(p.ID) == "":
		return fmt.Errorf("%w: product without id", ErrInvalidProduct)
	case strings.TrimSpace(p.Title) == "":
		return fmt.Errorf("%w: product %s has no title", ErrInvalidProduct, p.ID)
	case p.PriceFen < 0:
		return fmt.Errorf("%w: product %s has negative price %d", ErrInvalidProduct, p.ID, p.PriceFen)
	}
	return nil
}

// ReadProducts decodes a JSON Lines catalog. Blank lines are skipped; a bad
// line is an error naming its line number.
func ReadProducts(r io.Reader) ([]Product, error) {
	var out []Product
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var p Product
		if err := json.Unmarshal(b, &p); err != nil {
			return nil, fmt.Errorf("catalog line %d: %w", line, err)
		}
		if err := p.validate(); err != nil {
			return nil, fmt.Errorf("catalog line %d: %w", line, err)
		}
		out = append(out, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read catalog: %w", err)
	}
	return out, nil
}
