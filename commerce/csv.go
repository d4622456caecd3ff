package commerce

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// AttrColumnPrefix starts a CSV column holding one attribute: "attr:颜色".
const AttrColumnPrefix = "attr:"

// ListSeparator separates several values in one CSV cell (images, attr:KEY).
const ListSeparator = "|"

// csvColumns are the CSV columns besides attr:KEY.
var csvColumns = []string{"id", "merchant_id", "title", "brand", "category", "price_fen", "sales", "description", "attrs", "images", "status", "listed_at", "live_now"}

// csvReader reads products from CSV records, by header position.
type csvReader struct {
	r     *Reader
	cr    *csv.Reader
	col   map[string]int // column name → index
	attrs map[string]int // attribute key → index of its attr:KEY column
	width int
}

func newCSVReader(r *Reader) (*csvReader, error) {
	cr := csv.NewReader(r.br)
	cr.ReuseRecord = true
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%w: the file is empty", ErrBadHeader)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadHeader, err)
	}
	c := &csvReader{r: r, cr: cr, col: map[string]int{}, attrs: map[string]int{}, width: len(header)}
	seen := map[string]bool{}
	for i, h := range header {
		h = strings.TrimSpace(h)
		if !utf8.ValidString(h) {
			return nil, fmt.Errorf("%w: column %d is not valid UTF-8", ErrBadHeader, i+1)
		}
		if seen[h] {
			return nil, fmt.Errorf("%w: column %q appears twice", ErrBadHeader, h)
		}
		seen[h] = true
		switch {
		case strings.HasPrefix(h, AttrColumnPrefix) && strings.TrimSpace(h[len(AttrColumnPrefix):]) != "":
			c.attrs[strings.TrimSpace(h[len(AttrColumnPrefix):])] = i
		case contains(csvColumns, h):
			c.col[h] = i
		case r.ignoreUnknown:
		default:
			return nil, fmt.Errorf("%w: unknown column %q (known: %s, and attr:KEY)", ErrBadHeader, h, strings.Join(csvColumns, " "))
		}
	}
	for _, must := range []string{"id", "title", "price_fen"} {
		if _, ok := c.col[must]; !ok {
			return nil, fmt.Errorf("%w: no %q column", ErrBadHeader, must)
		}
	}
	if _, ok := c.col["merchant_id"]; !ok && r.merchant == "" {
		return nil, fmt.Errorf("%w: no \"merchant_id\" column and no merchant given for the whole file", ErrBadHeader)
	}
	return c, nil
}

func (c *csvReader) next() (Product, error) {
	for {
		rec, err := c.cr.Read()
		if err == io.EOF {
			return Product{}, io.EOF
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			if errors.Is(err, csv.ErrFieldCount) {
				return Product{}, &LineError{Line: pe.StartLine, Err: fmt.Errorf("%d columns, the header has %d", len(rec), c.width)}
			}
			return Product{}, &LineError{Line: pe.StartLine, Err: fmt.Errorf("not valid CSV: %v", pe.Err)}
		}
		if err != nil {
			return Product{}, fmt.Errorf("read products: %w", err)
		}
		line, _ := c.cr.FieldPos(0)
		if blank(rec) {
			continue
		}
		p, id, err := c.decode(rec)
		if err != nil {
			return Product{}, &LineError{Line: line, ID: id, Err: err}
		}
		return p, nil
	}
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

func (c *csvReader) decode(rec []string) (Product, string, error) {
	size := 0
	for i, f := range rec {
		size += len(f)
		if !utf8.ValidString(f) {
			return Product{}, "", fmt.Errorf("column %d is not valid UTF-8 at byte %d", i+1, invalidUTF8At([]byte(f)))
		}
	}
	if size > c.r.maxLine {
		return Product{}, "", fmt.Errorf("record longer than %d bytes", c.r.maxLine)
	}
	get := func(name string) string {
		if i, ok := c.col[name]; ok {
			return rec[i]
		}
		return ""
	}
	p := Product{
		ID: get("id"), MerchantID: get("merchant_id"), Title: get("title"), Brand: get("brand"),
		Category: get("category"), Description: get("description"),
		Status: Status(strings.ToLower(strings.TrimSpace(get("status")))),
	}
	id := strings.TrimSpace(p.ID)
	var err error
	if p.ListedAt, err = listedAt(get("listed_at")); err != nil {
		return Product{}, id, err
	}
	if p.PriceFen, err = wholeNumber("price_fen", get("price_fen")); err != nil {
		return Product{}, id, err
	}
	if s := strings.TrimSpace(get("sales")); s != "" {
		if p.Sales, err = wholeNumber("sales", s); err != nil {
			return Product{}, id, err
		}
	}
	if s := strings.TrimSpace(get("images")); s != "" {
		p.Images = strings.Split(s, ListSeparator)
	}
	if s := strings.TrimSpace(get("attrs")); s != "" {
		if err := json.Unmarshal([]byte(s), &p.Attrs); err != nil {
			return Product{}, id, &FieldError{"attrs", fmt.Sprintf("not a JSON object of strings or lists of strings: %v", err)}
		}
	}
	for k, i := range c.attrs {
		s := strings.TrimSpace(rec[i])
		if s == "" {
			continue
		}
		if p.Attrs == nil {
			p.Attrs = Attrs{}
		}
		p.Attrs[k] = append(p.Attrs[k], strings.Split(s, ListSeparator)...)
	}
	return c.r.finish(p)
}
