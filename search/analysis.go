package search

import (
	_ "embed"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/go-ego/gse"
)

//go:embed words.txt
var shippedWords string

// userWordFreq is the frequency given to user-dictionary words so the
// segmenter keeps them whole (the embedded dictionary's common words sit
// around 10^3–10^4).
const userWordFreq = 3000

// Analysis is the Chinese text analysis shared by indexing and querying:
// gse word segmentation with the embedded dictionary plus a user dictionary
// built from the catalog, pinyin conversion, and synonyms. It is read-only
// after NewAnalysis and safe for concurrent use.
type Analysis struct {
	seg       gse.Segmenter
	py        *pinyinTable
	syn       *Synonyms
	vocab     *pinyinVocab
	userWords int

	// valueWords caches the index words of brand names, category levels
	// and attribute values (string → []string), which catalogs repeat;
	// valueCount bounds it.
	valueWords sync.Map
	valueCount atomic.Int64
}

// maxCachedValues bounds Analysis.valueWords.
const maxCachedValues = 200_000

// AnalysisOption configures NewAnalysis.
type AnalysisOption func(*analysisOptions)

type analysisOptions struct {
	synonyms *Synonyms
	words    []string
}

// WithSynonyms replaces the shipped synonym list (DefaultSynonyms). To extend
// the default, pass DefaultSynonyms().Merge(own).
func WithSynonyms(s *Synonyms) AnalysisOption {
	return func(o *analysisOptions) { o.synonyms = s }
}

// WithUserWords adds words the segmenter must keep whole.
func WithUserWords(words ...string) AnalysisOption {
	return func(o *analysisOptions) { o.words = append(o.words, words...) }
}

// NewAnalysis loads the segmenter's embedded dictionary (no network or disk
// access) and extends it with a user dictionary built from the catalog's
// brands, category names and attribute values, the shipped product-word list,
// the synonym words and any WithUserWords. Dual-name brands ("耐克/Nike")
// become equivalent synonyms. Loading takes about a second.
func NewAnalysis(catalog []Product, opts ...AnalysisOption) (*Analysis, error) {
	o := analysisOptions{}
	for _, opt := range opts {
		opt(&o)
	}
	if o.synonyms == nil {
		o.synonyms = DefaultSynonyms()
	}
	a := &Analysis{py: newPinyinTable()}
	a.seg.SkipLog = true
	a.seg.NotLoadHMM = true
	if err := a.seg.LoadDictEmbed("zh_s"); err != nil {
		return nil, fmt.Errorf("load segmenter dictionary: %w", err)
	}

	brandSyn := &Synonyms{}
	brandScopes := map[string]map[string]bool{}
	brandNames := map[string][]string{}
	words := map[string]int{} // word → products using it (0: from a list)
	addWord := func(w string, uses int) {
		w = normalize(strings.TrimSpace(w))
		if n := runeLen(w); n >= 2 && n <= 16 && hasHan(w) && !strings.ContainsAny(w, " \t") {
			words[w] += uses
		}
	}
	for _, line := range strings.Split(shippedWords, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			addWord(line, 0)
		}
	}
	for _, w := range o.words {
		addWord(w, 0)
	}
	for i := range catalog {
		p := &catalog[i]
		names := p.BrandNames()
		for _, n := range names {
			addWord(n, 1)
		}
		if levels := p.CategoryLevels(); len(names) > 1 && len(levels) > 0 {
			key := strings.Join(names, "/")
			if brandScopes[key] == nil {
				brandScopes[key] = map[string]bool{}
				brandNames[key] = names
			}
			brandScopes[key][levels[0]] = true
		}
		for _, l := range p.CategoryLevels() {
			addWord(l, 1)
		}
		for _, v := range p.Attrs.Values() {
			addWord(v, 1)
		}
	}
	// A dual-name brand's names are synonyms within the top-level
	// categories it sells in (苹果 is Apple among phones, not among fruit).
	for key, scopes := range brandScopes {
		list := make([]string, 0, len(scopes))
		for s := range scopes {
			list = append(list, s)
		}
		sort.Strings(list)
		brandSyn.AddEquivalent(list, brandNames[key]...)
	}
	a.syn = o.synonyms.Merge(brandSyn)
	for _, w := range a.syn.Words() {
		addWord(w, 0)
	}
	sorted := make([]string, 0, len(words))
	for w := range words {
		sorted = append(sorted, w)
	}
	sort.Strings(sorted)
	for _, w := range sorted {
		freq := float64(userWordFreq)
		if f, _, ok := a.seg.Find(w); ok && f > freq {
			freq = f
		}
		if err := a.seg.AddToken(w, freq, "nz"); err != nil {
			return nil, fmt.Errorf("user dictionary word %q: %w", w, err)
		}
	}
	a.seg.CalcToken()
	a.userWords = len(sorted)
	for w, n := range a.titleWords(catalog) {
		words[w] += n
	}
	a.vocab = newPinyinVocab(a.py, words)
	return a, nil
}

// titleWordSample caps how many titles feed the pinyin vocabulary.
const titleWordSample = 20000

// titleWords counts Han words of 2–6 characters used in at least two of
// the (first titleWordSample) titles.
func (a *Analysis) titleWords(catalog []Product) map[string]int {
	count := map[string]int{}
	for i := range catalog[:min(len(catalog), titleWordSample)] {
		for _, w := range a.Segment(catalog[i].Title) {
			if n := runeLen(w); n >= 2 && n <= 6 && hasHan(w) {
				count[w]++
			}
		}
	}
	for w, n := range count {
		if n < 2 {
			delete(count, w)
		}
	}
	return count
}

// Synonyms returns the synonym list in use (shipped or given, plus the
// catalog's dual brand names).
func (a *Analysis) Synonyms() *Synonyms { return a.syn }

// UserWords is the size of the user dictionary.
func (a *Analysis) UserWords() int { return a.userWords }

// Segment cuts text into normalised words the way queries are cut
// (accurate mode; punctuation and spaces dropped).
func (a *Analysis) Segment(text string) []string {
	var out []string
	for _, w := range a.seg.Cut(normalize(text)) {
		if w = strings.TrimSpace(w); searchable(w) {
			out = append(out, w)
		}
	}
	return out
}

// segToken is one indexed word with its byte offsets in the normalised text.
type segToken struct {
	term       string
	start, end int
}

// indexTokens cuts text for indexing: accurate-mode words, plus the
// dictionary sub-words of longer words (运动鞋 → 运动) and the letter/digit
// parts of model numbers (mate60 → mate, 60), so finer queries also match.
func (a *Analysis) indexTokens(text string) []segToken {
	norm := normalize(text)
	var out []segToken
	cursor := 0
	for _, w := range a.seg.Cut(norm) {
		at := strings.Index(norm[cursor:], w)
		if at < 0 {
			continue
		}
		start := cursor + at
		cursor = start + len(w)
		w = strings.TrimSpace(w)
		if !searchable(w) {
			continue
		}
		out = append(out, segToken{w, start, start + len(w)})
		if parts := alnumParts(w); parts != nil {
			off := start
			for _, p := range parts {
				out = append(out, segToken{p, off, off + len(p)})
				off += len(p)
			}
			continue
		}
		out = a.appendSubWords(out, w, start)
	}
	return out
}

// appendSubWords adds the dictionary words of 2..n-1 runes inside a Han
// word of n ≥ 3 runes.
func (a *Analysis) appendSubWords(out []segToken, w string, start int) []segToken {
	runes := []rune(w)
	if len(runes) < 3 || !hasHan(w) {
		return out
	}
	offs := make([]int, len(runes)+1)
	for i, r := range runes {
		offs[i+1] = offs[i] + len(string(r))
	}
	for size := 2; size < len(runes); size++ {
		for i := 0; i+size <= len(runes); i++ {
			sub := string(runes[i : i+size])
			if f, _, ok := a.seg.Find(sub); ok && f > 0 {
				out = append(out, segToken{sub, start + offs[i], start + offs[i+size]})
			}
		}
	}
	return out
}

// isWord reports whether w is in the segmenter's dictionary.
func (a *Analysis) isWord(w string) bool {
	f, _, ok := a.seg.Find(w)
	return ok && f > 0
}

// zhValues returns a field filler that emits the index words of each value
// (the field's text is the values joined by " | ", which the segmenter
// never joins words across), cut once per distinct value.
func (a *Analysis) zhValues(values []string) func(string, emitFunc) {
	return func(_ string, emit emitFunc) {
		pos := 0
		for _, v := range values {
			for _, w := range a.valueTokens(v) {
				pos++
				emit(w, 0, 0, pos) // word fields keep no offsets or positions
			}
		}
	}
}

func (a *Analysis) valueTokens(v string) []string {
	if ws, ok := a.valueWords.Load(v); ok {
		return ws.([]string)
	}
	toks := a.indexTokens(v)
	ws := make([]string, len(toks))
	for i, tk := range toks {
		ws[i] = tk.term
	}
	if a.valueCount.Load() < maxCachedValues {
		if _, loaded := a.valueWords.LoadOrStore(v, ws); !loaded {
			a.valueCount.Add(1)
		}
	}
	return ws
}
