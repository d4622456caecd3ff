package search

import (
	"strings"

	"github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/mapping"
)

// Index field names. The index holds only what text matching needs;
// filters, sorting, facets and hydration read the generation's docTable.
const (
	fTitle    = "title"     // gse words of the title
	fBrand    = "brand"     // gse words of every brand name
	fCategory = "cat"       // gse words of every category level
	fAttrs    = "attrs"     // gse words of every attribute value
	fDesc     = "desc"      // gse words of the description
	fNgram    = "ng"        // Han unigrams+bigrams over title, brand, category (positions)
	fPinyin   = "py"        // pinyin syllables over title, brand, category (positions)
	fInitials = "pyi"       // pinyin initials over title, brand, category (positions)
	fCatLevel = "cat_level" // keyword: every category level name, for synonym scopes
)

// newMapping is the index mapping. Documents are built by document (not
// mapped from Go values), so the mapping only has to exist: it indexes
// nothing dynamically.
func newMapping() *mapping.IndexMappingImpl {
	im := mapping.NewIndexMapping()
	im.DefaultMapping = mapping.NewDocumentStaticMapping()
	im.StoreDynamic = false
	im.IndexDynamic = false
	im.DocValuesDynamic = false
	return im
}

// listSep separates the values of a keyword list field.
const listSep = "\x1f"

// document is what Bleve indexes for a product: text fields only, nothing
// stored, no doc values, no _all field. The n-gram and pinyin fields get
// one string over title, brand names and category levels (a field per
// value costs more to index), " | " breaking phrase adjacency between the
// parts; the word fields of brand, category and attributes are cut value by
// value through the analysis' cache (catalogs repeat them).
func (a *Analysis) document(p *Product) *document.Document {
	names := p.BrandNames()
	levels := p.CategoryLevels()
	values := p.Attrs.Values()
	head := joinParts(p.Title, strings.Join(names, " | "), strings.Join(levels, " | "))
	d := document.NewDocument(p.ID)
	add := func(name, value string, positions bool, fill func(string, emitFunc)) {
		if value != "" {
			d.AddField(newTextField(name, value, positions, fill))
		}
	}
	add(fTitle, p.Title, false, a.zhTokens)
	add(fBrand, strings.Join(names, " | "), false, a.zhValues(names))
	add(fCategory, strings.Join(levels, " | "), false, a.zhValues(levels))
	add(fAttrs, strings.Join(values, " | "), false, a.zhValues(values))
	add(fDesc, p.Description, false, a.zhTokens)
	add(fNgram, head, true, ngramTokens)
	add(fPinyin, head, true, func(s string, emit emitFunc) { a.py.tokens(s, false, emit) })
	add(fInitials, head, true, func(s string, emit emitFunc) { a.py.tokens(s, true, emit) })
	add(fCatLevel, strings.Join(levels, listSep), false, listTokens)
	return d
}

// joinParts joins the non-empty parts with " | ".
func joinParts(parts ...string) string {
	var b strings.Builder
	for _, s := range parts {
		if s == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(" | ")
		}
		b.WriteString(s)
	}
	return b.String()
}
