package commerce

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Format is the encoding of a product file.
type Format int

// Product file formats.
const (
	// FormatAuto detects the format from the first byte: '{' is JSON Lines,
	// anything else CSV.
	FormatAuto Format = iota
	// FormatJSONL is one JSON object per line.
	FormatJSONL
	// FormatCSV is RFC 4180 CSV with a header row; see NewReader for the columns.
	FormatCSV
)

func (f Format) String() string {
	switch f {
	case FormatJSONL:
		return "jsonl"
	case FormatCSV:
		return "csv"
	}
	return "auto"
}

// FormatForName picks the format from a file name's extension: .jsonl,
// .ndjson and .json are JSON Lines, .csv is CSV, anything else FormatAuto.
func FormatForName(name string) Format {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".jsonl", ".ndjson", ".json":
		return FormatJSONL
	case ".csv":
		return FormatCSV
	}
	return FormatAuto
}

// LineError is a rejected line of a product file. Reader.Next returns it
// for a line that cannot be imported; reading goes on with the next line.
type LineError struct {
	Line int    // 1-based line number (the first line of a multi-line CSV record)
	ID   string // the product id, when the line got that far
	Err  error  // why; a *FieldError for an invalid field
}

func (e *LineError) Error() string {
	if e.ID != "" {
		return fmt.Sprintf("line %d (id %s): %v", e.Line, e.ID, e.Err)
	}
	return fmt.Sprintf("line %d: %v", e.Line, e.Err)
}

// Unwrap returns the reason.
func (e *LineError) Unwrap() error { return e.Err }

// ErrBadHeader is wrapped by the error NewReader returns for a CSV header
// it cannot use (missing id/title/price_fen column, unknown or repeated column).
var ErrBadHeader = errors.New("bad CSV header")

// ReaderOption configures a Reader.
type ReaderOption func(*Reader)

// WithFormat fixes the format instead of detecting it.
func WithFormat(f Format) ReaderOption { return func(r *Reader) { r.format = f } }

// WithLimits replaces DefaultLimits.
func WithLimits(l Limits) ReaderOption { return func(r *Reader) { r.limits = l } }

// WithMerchant makes every product belong to merchant id: lines without a
// merchant_id get it, lines naming another merchant are rejected.
func WithMerchant(id string) ReaderOption { return func(r *Reader) { r.merchant = id } }

// IgnoreUnknownFields makes the reader skip JSON fields and CSV columns it
// does not know instead of rejecting the line (JSON) or the file (CSV).
// Rejecting is the default because a misspelt field ("tittle") would
// otherwise lose data silently.
func IgnoreUnknownFields() ReaderOption { return func(r *Reader) { r.ignoreUnknown = true } }

// MaxLineBytes bounds one line (JSON) or record (CSV); longer ones are
// rejected. The default is 1 MiB.
func MaxLineBytes(n int) ReaderOption { return func(r *Reader) { r.maxLine = n } }

// Reader reads products from a JSON Lines or CSV file, one at a time.
//
// JSON Lines: one object per line with the fields id, merchant_id, title,
// brand, category, price_fen, sales, description, attrs, images, status
// ("on" or "off", default "on") and listed_at (RFC 3339); live_now is
// accepted and ignored (live rooms own it). attrs values are strings or lists of
// strings. id, merchant_id (unless WithMerchant), title and price_fen (a
// whole number of fen) are required; blank lines are skipped.
//
// CSV: a header row names the columns, in any order, from the same set as
// JSON; images are separated by '|'; attributes come either as a JSON object
// in an "attrs" column or as one "attr:KEY" column per key (attr:颜色) whose
// several values are separated by '|' (黑色|白色). Empty cells are absent
// fields. A UTF-8 byte order mark is skipped.
type Reader struct {
	format        Format
	limits        Limits
	merchant      string
	ignoreUnknown bool
	maxLine       int

	br   *bufio.Reader
	line int // last physical line read (JSON)
	csv  *csvReader
}

// NewReader returns a Reader of src. With FormatAuto (the default) it peeks
// at the first byte; for CSV it reads the header, and a header it cannot use
// is an error wrapping ErrBadHeader.
func NewReader(src io.Reader, opts ...ReaderOption) (*Reader, error) {
	r := &Reader{limits: DefaultLimits(), maxLine: 1 << 20}
	for _, o := range opts {
		o(r)
	}
	r.br = bufio.NewReaderSize(src, max(r.maxLine+2, 4096))
	if bom, err := r.br.Peek(3); err == nil && bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
		r.br.Discard(3)
	}
	if r.format == FormatAuto {
		r.format = r.detect()
	}
	if r.format == FormatCSV {
		c, err := newCSVReader(r)
		if err != nil {
			return nil, err
		}
		r.csv = c
	}
	return r, nil
}

// detect peeks past leading white space for the first byte.
func (r *Reader) detect() Format {
	for n := 1; ; n++ {
		b, err := r.br.Peek(n)
		if len(b) < n || err != nil {
			return FormatJSONL // empty input: either reads nothing
		}
		switch c := b[n-1]; c {
		case ' ', '\t', '\r', '\n':
			continue
		case '{':
			return FormatJSONL
		default:
			return FormatCSV
		}
	}
}

// Format is the format being read (detected, unless fixed by WithFormat).
func (r *Reader) Format() Format { return r.format }

// Next returns the next valid product, normalized. For a line that cannot
// be imported it returns a *LineError and the caller may call Next again;
// io.EOF ends the file; any other error is fatal (the file cannot be read).
func (r *Reader) Next() (Product, error) {
	if r.csv != nil {
		return r.csv.next()
	}
	for {
		b, tooLong, err := r.readLine()
		if err != nil {
			return Product{}, err
		}
		if tooLong {
			return Product{}, &LineError{Line: r.line, Err: fmt.Errorf("line longer than %d bytes", r.maxLine)}
		}
		b = bytes.TrimSpace(b)
		if len(b) == 0 {
			continue
		}
		p, id, err := r.decodeJSON(b)
		if err != nil {
			return Product{}, &LineError{Line: r.line, ID: id, Err: err}
		}
		return p, nil
	}
}

// readLine returns the next physical line without its newline, or reports
// that it was longer than maxLine (and skips the rest of it).
func (r *Reader) readLine() (line []byte, tooLong bool, err error) {
	b, err := r.br.ReadSlice('\n')
	switch {
	case err == nil || (err == io.EOF && len(b) > 0):
		r.line++
		if len(b) > r.maxLine+1 {
			return nil, true, nil
		}
		return bytes.TrimSuffix(b, []byte("\n")), false, nil
	case errors.Is(err, bufio.ErrBufferFull):
		r.line++
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = r.br.ReadSlice('\n')
		}
		if err != nil && err != io.EOF {
			return nil, false, fmt.Errorf("read products: %w", err)
		}
		return nil, true, nil
	case err == io.EOF:
		return nil, false, io.EOF
	default:
		return nil, false, fmt.Errorf("read products: %w", err)
	}
}

// jsonProduct is the wire shape of one JSON line. Numbers are json.Number
// so that 29.9 or a missing price can be told apart from 0.
type jsonProduct struct {
	ID          string          `json:"id"`
	MerchantID  string          `json:"merchant_id"`
	Title       string          `json:"title"`
	Brand       string          `json:"brand"`
	Category    string          `json:"category"`
	PriceFen    json.RawMessage `json:"price_fen"`
	Sales       json.RawMessage `json:"sales"`
	Description string          `json:"description"`
	Attrs       Attrs           `json:"attrs"`
	Images      []string        `json:"images"`
	Status      string          `json:"status"`
	ListedAt    string          `json:"listed_at"`
	// LiveNow belongs to live rooms, not the catalog; accepted (the same
	// JSON Lines feed the search index directly) and ignored.
	LiveNow json.RawMessage `json:"live_now"`
	SKUs    []jsonSKU       `json:"skus"`
}

// jsonSKU is the wire shape of one SKU of a JSON line.
type jsonSKU struct {
	ID       string            `json:"id"`
	Spec     map[string]string `json:"spec"`
	PriceFen json.RawMessage   `json:"price_fen"`
	Stock    json.RawMessage   `json:"stock"`
}

func (r *Reader) decodeJSON(b []byte) (Product, string, error) {
	if !utf8.Valid(b) {
		return Product{}, "", fmt.Errorf("not valid UTF-8 at byte %d", invalidUTF8At(b))
	}
	var j jsonProduct
	dec := json.NewDecoder(bytes.NewReader(b))
	if !r.ignoreUnknown {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(&j); err != nil {
		return Product{}, peekID(b), jsonReason(err)
	}
	if dec.More() {
		return Product{}, j.ID, errors.New("more than one JSON value on the line")
	}
	p := Product{
		ID: j.ID, MerchantID: j.MerchantID, Title: j.Title, Brand: j.Brand,
		Category: j.Category, Description: j.Description, Attrs: j.Attrs,
		Images: j.Images, Status: Status(strings.ToLower(strings.TrimSpace(j.Status))),
	}
	var err error
	if p.ListedAt, err = listedAt(j.ListedAt); err != nil {
		return Product{}, j.ID, err
	}
	if p.PriceFen, err = jsonNumber("price_fen", j.PriceFen); err != nil {
		return Product{}, j.ID, err
	}
	if len(j.Sales) > 0 && string(j.Sales) != "null" {
		if p.Sales, err = jsonNumber("sales", j.Sales); err != nil {
			return Product{}, j.ID, err
		}
	}
	if j.SKUs != nil {
		p.SKUs = make([]SKU, len(j.SKUs))
		for i, k := range j.SKUs {
			p.SKUs[i] = SKU{ID: k.ID, Spec: k.Spec}
			if p.SKUs[i].PriceFen, err = jsonNumber(fmt.Sprintf("skus[%d].price_fen", i), k.PriceFen); err != nil {
				return Product{}, j.ID, err
			}
			if p.SKUs[i].Stock, err = jsonNumber(fmt.Sprintf("skus[%d].stock", i), k.Stock); err != nil {
				return Product{}, j.ID, err
			}
		}
	}
	return r.finish(p)
}

// finish normalizes, applies the merchant option and validates.
func (r *Reader) finish(p Product) (Product, string, error) {
	p.Normalize()
	if r.merchant != "" {
		switch p.MerchantID {
		case "":
			p.MerchantID = r.merchant
		case r.merchant:
		default:
			return Product{}, p.ID, &FieldError{"merchant_id", fmt.Sprintf("%q is not the import's merchant %q", p.MerchantID, r.merchant)}
		}
	}
	if err := r.limits.Validate(&p); err != nil {
		return Product{}, p.ID, err
	}
	return p, p.ID, nil
}

// listedAt parses an RFC 3339 time ("2025-01-11T14:00:00Z"); empty is zero.
func listedAt(s string) (time.Time, error) {
	if s = strings.TrimSpace(s); s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, &FieldError{"listed_at", fmt.Sprintf("%q is not an RFC 3339 time like 2025-01-11T14:00:00Z", s)}
	}
	return t, nil
}

// jsonNumber parses a whole number written as a JSON number or a string of digits.
func jsonNumber(field string, v json.RawMessage) (int64, error) {
	if len(v) == 0 || string(v) == "null" {
		return 0, &FieldError{field, "missing"}
	}
	s := string(v)
	if v[0] == '"' {
		if err := json.Unmarshal(v, &s); err != nil {
			return 0, &FieldError{field, "not a number"}
		}
	}
	return wholeNumber(field, s)
}

// wholeNumber parses an integer count of fen or units.
func wholeNumber(field, s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, &FieldError{field, "missing"}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		if _, ferr := strconv.ParseFloat(s, 64); ferr == nil {
			return 0, &FieldError{field, fmt.Sprintf("%s is not a whole number (%s is in fen: 29900 for 299 yuan)", s, field)}
		}
		return 0, &FieldError{field, fmt.Sprintf("%q is not a number", s)}
	}
	if v < 0 {
		return 0, &FieldError{field, fmt.Sprintf("%d is negative", v)}
	}
	return v, nil
}

// jsonReason turns a decoding error into a short reason naming the field.
func jsonReason(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "line"
		}
		return &FieldError{field, fmt.Sprintf("%s where %s was expected", te.Value, jsonType(te.Type.String()))}
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("not valid JSON at byte %d: %s", se.Offset, strings.TrimPrefix(se.Error(), "json: "))
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if strings.HasPrefix(msg, "unknown field") {
		return errors.New(msg + " (known: id merchant_id title brand category price_fen sales description attrs images status listed_at live_now skus)")
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("truncated JSON object")
	}
	return errors.New(msg)
}

func jsonType(goType string) string {
	switch goType {
	case "string":
		return "a string"
	case "[]string":
		return "a list of strings"
	case "commerce.jsonProduct", "commerce.jsonSKU", "map[string]string":
		return "an object"
	}
	return goType
}

// peekID digs the id out of a line that failed to decode, for the report.
func peekID(b []byte) string {
	var x struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(b, &x) != nil {
		return ""
	}
	var id string
	if json.Unmarshal(x.ID, &id) != nil || len(id) > 128 {
		return ""
	}
	return id
}

func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return -1
}
