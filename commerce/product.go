// Package commerce holds the catalog's domain types — merchants, products
// (SPU) and their SKUs — with the rules of what a valid product is, and the
// catalog import: reading JSON Lines or CSV product files, rejecting bad lines
// with their line number and reason, and handing good products in batches to
// a ProductWriter (commerce/postgres implements one).
//
// The package has no infrastructure dependency; storage lives in
// commerce/postgres.
package commerce

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Unbranded is the brand of a product without a brand.
const Unbranded = "无品牌"

// Status says whether a product is for sale.
type Status string

// Product statuses.
const (
	// OnShelf products are for sale and searchable (上架).
	OnShelf Status = "on"
	// OffShelf products are kept in the catalog but neither sold nor
	// searchable (下架).
	OffShelf Status = "off"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return s == OnShelf || s == OffShelf }

// Merchant is a seller (商家). Merchants are created on first sight by the
// product import.
type Merchant struct {
	ID        string
	Name      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Product is an SPU: what a shopper sees as one product card. Prices of the
// individual variants live in its SKUs; PriceFen is the price the card shows
// (the lowest SKU price when there are SKUs).
type Product struct {
	ID          string
	MerchantID  string
	Title       string
	Brand       string // "耐克/Nike" (several names of one brand), "无品牌" or empty
	Category    string // path, "女装/连衣裙"
	Description string
	Images      []string // URLs, the first is the cover
	Attrs       Attrs
	Status      Status
	PriceFen    int64
	Sales       int64     // units sold, as shown on the card
	ListedAt    time.Time // when it went on sale, for "newest" ordering; zero: CreatedAt
	CreatedAt   time.Time
	UpdatedAt   time.Time

	// SKUs as imported (spec, price, stock). Nil leaves the stored SKUs
	// alone; SKUs are not part of the ContentHash.
	SKUs []SKU
}

// SKU is one purchasable variant of a product (a colour and size).
type SKU struct {
	ID        string
	ProductID string
	Spec      map[string]string // {"颜色":"黑色","尺码":"M"}
	PriceFen  int64
	Stock     int64
}

// Limits bound what one product may carry. Start from DefaultLimits.
type Limits struct {
	MaxIDBytes       int   // product and merchant ids (bytes)
	MaxTitle         int   // characters
	MaxBrand         int   // characters
	MaxCategory      int   // characters of the whole path
	MaxDescription   int   // characters
	MaxImages        int   // entries
	MaxImageURL      int   // bytes
	MaxAttrs         int   // keys
	MaxAttrValues    int   // values of one key
	MaxAttrText      int   // characters of a key or a value
	MaxPriceFen      int64 // fen
	MaxSales         int64 // units
	MaxCategoryDepth int   // levels
	MaxSKUs          int   // SKUs of one product
	MaxStock         int64 // units of one SKU
}

// DefaultLimits are the limits the import applies.
func DefaultLimits() Limits {
	return Limits{
		MaxIDBytes:       64,
		MaxTitle:         200,
		MaxBrand:         64,
		MaxCategory:      128,
		MaxDescription:   5000,
		MaxImages:        20,
		MaxImageURL:      1024,
		MaxAttrs:         64,
		MaxAttrValues:    64,
		MaxAttrText:      128,
		MaxPriceFen:      100_000_000_00, // 100 million yuan
		MaxSales:         1_000_000_000_000,
		MaxCategoryDepth: 5,
		MaxSKUs:          200,
		MaxStock:         100_000_000,
	}
}

// FieldError names the field of a product that is invalid and why.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Normalize trims surrounding space from the text fields, cleans the
// category path ("女装 / 连衣裙" → "女装/连衣裙"), drops empty attribute
// values and defaults the status to OnShelf.
func (p *Product) Normalize() {
	p.ID = strings.TrimSpace(p.ID)
	p.MerchantID = strings.TrimSpace(p.MerchantID)
	p.Title = strings.TrimSpace(p.Title)
	p.Brand = strings.TrimSpace(p.Brand)
	p.Description = strings.TrimSpace(p.Description)
	var levels []string
	for _, l := range strings.Split(p.Category, "/") {
		if l = strings.TrimSpace(l); l != "" {
			levels = append(levels, l)
		}
	}
	p.Category = strings.Join(levels, "/")
	imgs := p.Images[:0]
	for _, u := range p.Images {
		if u = strings.TrimSpace(u); u != "" {
			imgs = append(imgs, u)
		}
	}
	p.Images = imgs
	if len(p.Images) == 0 {
		p.Images = nil
	}
	p.Attrs = p.Attrs.normalized()
	if !p.ListedAt.IsZero() {
		p.ListedAt = p.ListedAt.UTC().Truncate(time.Microsecond) // what PostgreSQL keeps
	}
	if p.Status == "" {
		p.Status = OnShelf
	}
}

// Validate checks p against the limits; the error is a *FieldError. Call
// Normalize first.
func (l Limits) Validate(p *Product) error {
	if err := l.id("id", p.ID); err != nil {
		return err
	}
	if err := l.id("merchant_id", p.MerchantID); err != nil {
		return err
	}
	for _, f := range []struct {
		name, v  string
		max      int
		required bool
	}{
		{"title", p.Title, l.MaxTitle, true},
		{"brand", p.Brand, l.MaxBrand, false},
		{"category", p.Category, l.MaxCategory, false},
		{"description", p.Description, l.MaxDescription, false},
	} {
		if err := text(f.name, f.v, f.max, f.required); err != nil {
			return err
		}
	}
	if n := strings.Count(p.Category, "/") + 1; p.Category != "" && n > l.MaxCategoryDepth {
		return &FieldError{"category", fmt.Sprintf("%d levels, more than %d", n, l.MaxCategoryDepth)}
	}
	if p.PriceFen < 0 || p.PriceFen > l.MaxPriceFen {
		return &FieldError{"price_fen", fmt.Sprintf("%d is out of range [0, %d]", p.PriceFen, l.MaxPriceFen)}
	}
	if p.Sales < 0 || p.Sales > l.MaxSales {
		return &FieldError{"sales", fmt.Sprintf("%d is out of range [0, %d]", p.Sales, l.MaxSales)}
	}
	if !p.Status.Valid() {
		return &FieldError{"status", fmt.Sprintf("%q is neither %q nor %q", p.Status, OnShelf, OffShelf)}
	}
	if len(p.Images) > l.MaxImages {
		return &FieldError{"images", fmt.Sprintf("%d images, more than %d", len(p.Images), l.MaxImages)}
	}
	for i, u := range p.Images {
		if len(u) > l.MaxImageURL || !utf8.ValidString(u) || strings.ContainsFunc(u, unicode.IsSpace) {
			return &FieldError{fmt.Sprintf("images[%d]", i), "not a URL of at most " + fmt.Sprint(l.MaxImageURL) + " bytes"}
		}
	}
	if len(p.Attrs) > l.MaxAttrs {
		return &FieldError{"attrs", fmt.Sprintf("%d keys, more than %d", len(p.Attrs), l.MaxAttrs)}
	}
	for k, vs := range p.Attrs {
		if err := text("attrs key", k, l.MaxAttrText, true); err != nil {
			return err
		}
		if len(vs) > l.MaxAttrValues {
			return &FieldError{"attrs." + k, fmt.Sprintf("%d values, more than %d", len(vs), l.MaxAttrValues)}
		}
		for _, v := range vs {
			if err := text("attrs."+k, v, l.MaxAttrText, true); err != nil {
				return err
			}
		}
	}
	return l.validateSKUs(p)
}

func (l Limits) id(field, v string) error {
	switch {
	case v == "":
		return &FieldError{field, "missing"}
	case len(v) > l.MaxIDBytes:
		return &FieldError{field, fmt.Sprintf("%d bytes, more than %d", len(v), l.MaxIDBytes)}
	case !utf8.ValidString(v):
		return &FieldError{field, "not valid UTF-8"}
	}
	for _, r := range v {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == '/' {
			return &FieldError{field, fmt.Sprintf("%q contains a space, control character or slash", v)}
		}
	}
	return nil
}

func text(field, v string, max int, required bool) error {
	switch {
	case v == "" && required:
		return &FieldError{field, "missing"}
	case !utf8.ValidString(v):
		return &FieldError{field, "not valid UTF-8"}
	case utf8.RuneCountInString(v) > max:
		return &FieldError{field, fmt.Sprintf("%d characters, more than %d", utf8.RuneCountInString(v), max)}
	}
	for _, r := range v {
		if unicode.IsControl(r) && r != '\n' && r != '\t' && r != '\r' {
			return &FieldError{field, "contains a control character"}
		}
	}
	return nil
}

// BrandNames splits a brand into its names: "耐克/Nike" → [耐克 Nike].
// Unbranded products ("无品牌" or empty) have none.
func (p *Product) BrandNames() []string {
	var out []string
	for _, part := range strings.FieldsFunc(p.Brand, func(r rune) bool { return r == '/' || r == '／' || r == '|' }) {
		if part = strings.TrimSpace(part); part != "" && part != Unbranded {
			out = append(out, part)
		}
	}
	return out
}

// ContentHash is a digest of everything a shopper or the search index can see
// of p: ids, texts, images, attributes, status, price, sales and listing
// time (not the record's own timestamps). Two imports of the same line give the same hash, so a re-run
// changes nothing.
func (p *Product) ContentHash() [32]byte {
	h := sha256.New()
	var n [8]byte
	str := func(s string) {
		binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	num := func(v int64) {
		binary.LittleEndian.PutUint64(n[:], uint64(v))
		h.Write(n[:])
	}
	str("tide.product.v1")
	for _, s := range []string{p.ID, p.MerchantID, p.Title, p.Brand, p.Category, p.Description, string(p.Status)} {
		str(s)
	}
	num(p.PriceFen)
	num(p.Sales)
	if p.ListedAt.IsZero() {
		num(0)
	} else {
		num(p.ListedAt.UnixMicro())
	}
	num(int64(len(p.Images)))
	for _, u := range p.Images {
		str(u)
	}
	keys := make([]string, 0, len(p.Attrs))
	for k := range p.Attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	num(int64(len(keys)))
	for _, k := range keys {
		str(k)
		num(int64(len(p.Attrs[k])))
		for _, v := range p.Attrs[k] {
			str(v)
		}
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}
