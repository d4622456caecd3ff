package search

import (
	"strings"

	// The custom analyzer type is registered by Bleve's own init; importing
	// it is the only way to make it available.
	_ "github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/mapping"
)

// Index field names.
const (
	fTitle      = "title"       // gse words of the title
	fBrand      = "brand"       // gse words of every brand name
	fCategory   = "cat"         // gse words of every category level
	fAttrs      = "attrs"       // gse words of every attribute value
	fDesc       = "desc"        // gse words of the description
	fNgram      = "ng"          // Han unigrams+bigrams over title, brand, category, attributes
	fPinyin     = "py"          // pinyin syllables over title, brand, category
	fInitials   = "pyi"         // pinyin initials over title, brand, category
	fMerchant   = "merchant"    // keyword
	fBrandKW    = "brand_kw"    // keyword: the brand as written, for facets
	fBrandNames = "brand_names" // keyword: each lower-cased brand name, for filters
	fCatPath    = "cat_path"    // keyword: every category prefix path, for filters
	fCatLevel   = "cat_level"   // keyword: every category level name, for synonym scopes
	fCatKW      = "cat_kw"      // keyword: the full category path, for facets
	fPrice      = "price"       // numeric fen
	fSales      = "sales"       // numeric
	fListed     = "listed"      // numeric unix seconds
	fLive       = "live"        // keyword "1" when live now
)

// Custom analyzer names inside the mapping.
const (
	analyzerZH       = "tide_zh"
	analyzerNgram    = "tide_ngram"
	analyzerPinyin   = "tide_pinyin"
	analyzerInitials = "tide_initials"
)

// newMapping builds the Bleve mapping whose text analyzers use a.
func newMapping(a *Analysis) (*mapping.IndexMappingImpl, error) {
	if err := registerTokenizers(); err != nil {
		return nil, err
	}
	im := mapping.NewIndexMapping()
	ref := analysisRef{a}
	for name, typ := range map[string]string{
		analyzerZH: tokenizerZH, analyzerNgram: tokenizerNgram,
		analyzerPinyin: tokenizerPinyin, analyzerInitials: tokenizerInitials,
	} {
		if err := im.AddCustomTokenizer(name, map[string]any{"type": typ, "analysis": ref}); err != nil {
			return nil, err
		}
		if err := im.AddCustomAnalyzer(name, map[string]any{"type": "custom", "tokenizer": name}); err != nil {
			return nil, err
		}
	}
	doc := mapping.NewDocumentStaticMapping()
	text := func(analyzer string, positions bool) *mapping.FieldMapping {
		f := mapping.NewTextFieldMapping()
		f.Analyzer = analyzer
		f.Store = false
		f.IncludeInAll = false
		f.IncludeTermVectors = positions
		f.DocValues = false
		return f
	}
	kw := func(docValues bool) *mapping.FieldMapping {
		f := mapping.NewKeywordFieldMapping()
		f.Analyzer = keyword.Name
		f.Store = false
		f.IncludeInAll = false
		f.IncludeTermVectors = false
		f.DocValues = docValues
		return f
	}
	num := func() *mapping.FieldMapping {
		f := mapping.NewNumericFieldMapping()
		f.Store = false
		f.IncludeInAll = false
		f.DocValues = true
		return f
	}
	fields := map[string]*mapping.FieldMapping{
		fTitle: text(analyzerZH, false), fBrand: text(analyzerZH, false),
		fCategory: text(analyzerZH, false), fAttrs: text(analyzerZH, false),
		fDesc: text(analyzerZH, false), fNgram: text(analyzerNgram, true),
		fPinyin: text(analyzerPinyin, true), fInitials: text(analyzerInitials, true),
		fMerchant: kw(false), fBrandKW: kw(true), fBrandNames: kw(false),
		fCatPath: kw(false), fCatLevel: kw(false), fCatKW: kw(true), fLive: kw(false),
		fPrice: num(), fSales: num(), fListed: num(),
	}
	for name, f := range fields {
		doc.AddFieldMappingsAt(name, f)
	}
	im.DefaultMapping = doc
	im.DefaultAnalyzer = analyzerZH
	im.StoreDynamic = false
	im.IndexDynamic = false
	im.DocValuesDynamic = false
	return im, nil
}

// document is what Bleve indexes for a product.
func document(p *Product) map[string]any {
	names := p.BrandNames()
	levels := p.CategoryLevels()
	values := p.Attrs.Values()
	lowerNames := make([]string, len(names))
	for i, n := range names {
		lowerNames[i] = normalize(n)
	}
	if len(names) == 0 && strings.TrimSpace(p.Brand) == Unbranded {
		lowerNames = []string{Unbranded}
	}
	// Text fields get one string each (a field per array element costs more
	// to index); " | " breaks phrase adjacency between the parts.
	joined := func(parts ...[]string) string {
		var all []string
		for _, p := range parts {
			all = append(all, p...)
		}
		return strings.Join(all, " | ")
	}
	pinyinText := joined([]string{p.Title}, names, levels)
	d := map[string]any{
		fTitle: p.Title, fBrand: joined(names), fCategory: joined(levels), fAttrs: joined(values),
		fNgram: joined([]string{p.Title}, names, levels), fPinyin: pinyinText, fInitials: pinyinText,
		fMerchant: p.MerchantID, fBrandNames: lowerNames,
		fCatPath: p.categoryPaths(), fCatLevel: levels,
		fPrice: float64(p.PriceFen), fSales: float64(p.Sales),
	}
	if p.Description != "" {
		d[fDesc] = p.Description
	}
	if b := strings.TrimSpace(p.Brand); b != "" {
		d[fBrandKW] = b
	}
	if p.Category != "" {
		d[fCatKW] = strings.Join(levels, "/")
	}
	if !p.ListedAt.IsZero() {
		d[fListed] = float64(p.ListedAt.Unix())
	}
	if p.LiveNow {
		d[fLive] = "1"
	}
	return d
}
