package search

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"
)

// Field boosts for one query word. Exact words in the structured fields
// weigh most; character n-grams and pinyin catch what segmentation or the
// user's spelling missed, at a discount.
const (
	boostTitle     = 3.0
	boostBrand     = 4.0
	boostCategory  = 4.0
	boostAttrs     = 2.5
	boostDesc      = 0.3
	boostNgram     = 1.2
	boostHomophone = 0.4 // Han word matched through its pinyin (同音错字)
	boostPinyin    = 3.0 // Latin word that is run-together pinyin
	boostInitials  = 2.5 // Latin word that is pinyin initials
	boostFuzzy     = 1.5
	boostSynonym   = 0.8
	boostConverted = 1.0 // pinyin converted back to known Chinese words
	boostCharAND   = 0.3 // unknown Han word matched character by character
	boostHead      = 3.0 // any-word query: a word naming a category
)

// builder builds the Bleve query for one search against one generation,
// consulting the index's term statistics (so clauses that cannot help are
// left out: a correctly spelt word needs no typo or homophone variants).
type builder struct {
	*generation
	reader index.IndexReader
	known  map[string]bool
}

// newBuilder opens a reader on the index's current snapshot; the search
// runs against it too. Close it when done.
func (g *generation) newBuilder() (*builder, error) {
	adv, err := g.bl.Advanced()
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	r, err := adv.Reader()
	if err != nil {
		return nil, fmt.Errorf("search: open reader: %w", err)
	}
	return &builder{generation: g, reader: r, known: map[string]bool{}}, nil
}

func (b *builder) close() {
	if b.reader != nil {
		_ = b.reader.Close()
	}
}

// unknown reports whether no product has w as a word in its title, brand,
// category or attributes (Han single characters: anywhere in the text).
func (b *builder) unknown(w string) bool {
	if known, ok := b.known[w]; ok {
		return !known
	}
	fields := []string{fTitle, fBrand, fCategory, fAttrs}
	if runeLen(w) == 1 {
		fields = []string{fNgram}
	}
	known := false
	for _, f := range fields {
		if !known && b.docFreq(w, f) > 0 {
			known = true
		}
	}
	b.known[w] = known
	return !known
}

// docFreq is how many products have term in field.
func (b *builder) docFreq(term, field string) uint64 {
	tfr, err := b.reader.TermFieldReader(context.Background(), []byte(term), field, false, false, false)
	if err != nil {
		return 0
	}
	defer tfr.Close()
	return tfr.Count()
}

// stopWords are dropped from queries of more than one word.
var stopWords = map[string]bool{
	"的": true, "了": true, "和": true, "与": true, "及": true, "是": true, "在": true,
	"有": true, "吗": true, "呢": true, "啊": true, "把": true, "给": true, "我": true, "要": true, "买": true,
}

// queryWords segments text and drops stop words (unless nothing is left).
// User text only ever becomes words: no query syntax is interpreted.
func (g *builder) queryWords(text string) []string {
	words := mergeSingles(g.an.Segment(text))
	var kept []string
	seen := map[string]bool{}
	for _, w := range words {
		if !stopWords[w] && !seen[w] {
			kept = append(kept, w)
			seen[w] = true
		}
	}
	if len(kept) == 0 && len(words) > 0 {
		kept = words[:1]
	}
	return kept
}

// mergeSingles joins runs of single Han characters, which is how the
// segmenter leaves a word it does not know (乳霜 → 乳 霜), back into one
// word.
func mergeSingles(words []string) []string {
	out := make([]string, 0, len(words))
	run := ""
	flush := func() {
		if run != "" {
			out = append(out, run)
			run = ""
		}
	}
	for _, w := range words {
		if runeLen(w) == 1 && hasHan(w) && !stopWords[w] {
			run += w
			continue
		}
		flush()
		out = append(out, w)
	}
	flush()
	return out
}

// wordQuery matches one query word in any field, by its synonyms, pinyin
// and typo variants.
func (g *builder) wordQuery(w string, wide bool, depth int) query.Query {
	d := query.NewDisjunctionQuery(g.wordClauses(w, wide, depth))
	if depth > 1 {
		return d
	}
	for _, e := range g.an.syn.Expand(w) {
		var sub query.Query
		parts := g.an.Segment(e.Text)
		if len(parts) == 1 {
			sub = query.NewDisjunctionQuery(g.wordClauses(parts[0], false, depth+1))
		} else if len(parts) > 1 {
			conj := make([]query.Query, 0, len(parts))
			for _, p := range parts {
				conj = append(conj, query.NewDisjunctionQuery(g.wordClauses(p, false, depth+1)))
			}
			sub = query.NewConjunctionQuery(conj)
		} else {
			continue
		}
		if len(e.Scopes) > 0 {
			scope := make([]query.Query, 0, len(e.Scopes))
			for _, s := range e.Scopes {
				scope = append(scope, term(s, fCatLevel, 0))
			}
			sub = &query.BooleanQuery{Must: sub, Filter: query.NewDisjunctionQuery(scope)}
		}
		d.AddQuery(boosted(sub, boostSynonym))
	}
	return d
}

// wordClauses are the ways one word can match, without synonyms. depth
// counts expansions (synonym, pinyin conversion) already applied; pinyin
// is only converted at depth 0, so expansions cannot loop.
func (g *builder) wordClauses(w string, wide bool, depth int) []query.Query {
	qs := []query.Query{
		term(w, fTitle, boostTitle), term(w, fBrand, boostBrand), term(w, fCategory, boostCategory),
		term(w, fAttrs, boostAttrs), term(w, fDesc, boostDesc),
	}
	runes := []rune(w)
	switch {
	case hasHan(w):
		if len(runes) == 1 {
			qs = append(qs, term(w, fNgram, boostNgram))
		} else if g.unknown(w) {
			// Not a word of any product: match it inside other words
			// (bigram phrase), or character by character.
			qs = append(qs, phrase(bigrams(runes), fNgram, boostNgram))
			if !g.an.isWord(w) {
				chars := make([]query.Query, 0, len(runes))
				for _, r := range runes {
					chars = append(chars, term(string(r), fNgram, 1))
				}
				qs = append(qs, boosted(query.NewConjunctionQuery(chars), boostCharAND))
			}
		}
		// Homophones (同音错字) are for what the user typed; a synonym is
		// spelt as listed.
		if alts := g.readings(runes); alts != nil && depth == 0 && g.unknown(w) {
			mp := query.NewMultiPhraseQuery(alts, fPinyin)
			mp.SetBoost(boostHomophone)
			qs = append(qs, mp)
		}
	case isLatinWord(w):
		qs = append(qs, term(w, fNgram, boostNgram))
		if parts := alnumParts(w); parts != nil {
			qs = append(qs, phrase(parts, fNgram, boostNgram)) // iphone15 = iphone 15
		}
		// Typos, pinyin and initials are ways of typing a word: not for
		// synonyms and other expansions (depth > 0), which are spelt right.
		if isASCIILower(w) && depth == 0 && (wide || g.unknown(w)) {
			qs = append(qs, g.latinClauses(w, wide, depth)...)
		}
	default:
		qs = append(qs, term(w, fNgram, boostNgram))
	}
	return qs
}

// latinClauses handle a word of ASCII letters: typos, run-together pinyin
// and pinyin initials.
func (g *builder) latinClauses(w string, wide bool, depth int) []query.Query {
	var qs []query.Query
	if d := fuzziness(len(w), wide); d > 0 {
		for _, f := range []string{fTitle, fBrand, fAttrs} {
			fq := query.NewFuzzyQuery(w)
			fq.SetField(f)
			fq.SetFuzziness(d)
			fq.SetBoost(boostFuzzy)
			qs = append(qs, fq)
		}
		// Levenshtein counts a swap of neighbours (nkie) as two edits; try
		// the swaps directly so short words forgive them too.
		for i := 0; i+1 < len(w); i++ {
			if w[i] != w[i+1] {
				b := []byte(w)
				b[i], b[i+1] = b[i+1], b[i]
				qs = append(qs, term(string(b), fTitle, boostFuzzy), term(string(b), fBrand, boostFuzzy))
			}
		}
	}
	// Pinyin: converted back to known words when possible (those matches
	// carry the field boosts), else matched as raw syllables or initials.
	syl, isPinyin := g.an.py.split(w)
	if isPinyin {
		pieces, ok := g.an.vocab.convert(g.an.py, w, false)
		switch {
		case ok && depth == 0:
			qs = append(qs, boosted(g.piecesQuery(pieces, fPinyin), boostConverted))
		case len(syl) == 1:
			qs = append(qs, term(syl[0], fPinyin, boostPinyin/3))
		default:
			qs = append(qs, phrase(syl, fPinyin, boostPinyin))
		}
	}
	if len(w) >= 2 && len(w) <= 8 && (!isPinyin || len(w) <= 3) {
		converted := false
		if vowels(w) <= 1 && depth == 0 {
			if pieces, ok := g.an.vocab.convert(g.an.py, w, true); ok {
				qs = append(qs, boosted(g.piecesQuery(pieces, fInitials), boostConverted))
				converted = true
			}
		}
		if !converted {
			qs = append(qs, phrase(strings.Split(w, ""), fInitials, boostInitials))
		}
	}
	return qs
}

// piecesQuery requires every piece of a converted pinyin word: one of its
// candidate words (searched like typed Chinese), or its raw syllable or
// letter in the pinyin field.
func (g *builder) piecesQuery(pieces []piece, field string) query.Query {
	conj := make([]query.Query, 0, len(pieces))
	for _, p := range pieces {
		if len(p.words) == 0 {
			conj = append(conj, term(p.raw, field, 0.5))
			continue
		}
		// Several words can share a spelling (yy: 眼影, 鸭鸭); the more
		// products use a word, the likelier it is meant.
		cands := append([]string(nil), p.words...)
		sort.SliceStable(cands, func(i, j int) bool { return g.an.vocab.freq[cands[i]] > g.an.vocab.freq[cands[j]] })
		cands = cands[:min(len(cands), 4)]
		top := float64(max(1, g.an.vocab.freq[cands[0]]))
		alts := make([]query.Query, 0, len(cands))
		for _, w := range cands {
			alts = append(alts, boosted(g.wordQuery(w, false, 1), max(0.05, float64(g.an.vocab.freq[w])/top)))
		}
		conj = append(conj, query.NewDisjunctionQuery(alts))
	}
	if len(conj) == 1 {
		return conj[0]
	}
	return query.NewConjunctionQuery(conj)
}

// fuzziness is the edit distance allowed for a Latin word of n letters:
// none below 4, 1 up to 5, 2 from 6. Relaxation (wide) allows 1 from 3.
func fuzziness(n int, wide bool) int {
	switch {
	case n >= 6:
		return 2
	case n >= 4:
		return 1
	case wide && n == 3:
		return 1
	}
	return 0
}

// readings lists each character's pinyin readings, for a homophone match.
func (g *builder) readings(runes []rune) [][]string {
	out := make([][]string, 0, len(runes))
	for _, r := range runes {
		if !isHan(r) {
			return nil
		}
		rs := g.an.py.readings(r)
		if len(rs) == 0 {
			return nil
		}
		out = append(out, rs)
	}
	return out
}

// textQuery is the query for the words at a relaxation level: 0 all words,
// 1 any word, 2 character overlap plus wider typo matching.
func (g *builder) textQuery(words []string, text string, level int) query.Query {
	switch level {
	case 0:
		qs := make([]query.Query, 0, len(words))
		for _, w := range words {
			qs = append(qs, g.wordQuery(w, false, 0))
		}
		if len(qs) == 1 {
			return qs[0]
		}
		return query.NewConjunctionQuery(qs)
	case 1:
		// Any word may match; a word naming a category is the head of the
		// query (黑色 ZARA 半身裙: 半身裙), so products of that kind rank
		// above products that only share a modifier.
		qs := make([]query.Query, 0, len(words))
		for _, w := range words {
			q := g.wordQuery(w, false, 0)
			if g.docFreq(w, fCategory) > 0 {
				q = boosted(q, boostHead)
			}
			qs = append(qs, q)
		}
		return query.NewDisjunctionQuery(qs)
	}
	// Character overlap: any half of the query's bigrams and Latin words,
	// plus each word's wide typo and pinyin variants.
	var grams []query.Query
	for _, run := range strings.FieldsFunc(normalize(text), func(r rune) bool { return !wordRune(r) }) {
		rs := []rune(run)
		for i := 0; i < len(rs); i++ {
			switch {
			case isHan(rs[i]) && i+1 < len(rs) && isHan(rs[i+1]):
				grams = append(grams, term(string(rs[i:i+2]), fNgram, 1))
			case isHan(rs[i]) && (i+1 == len(rs) || !isHan(rs[i+1])) && (i == 0 || !isHan(rs[i-1])):
				grams = append(grams, term(string(rs[i]), fNgram, 1))
			}
		}
	}
	overlap := query.NewDisjunctionQuery(grams)
	overlap.SetMin(math.Max(1, math.Ceil(float64(len(grams))/2)))
	alts := []query.Query{}
	if len(grams) > 0 {
		alts = append(alts, overlap)
	}
	for _, w := range words {
		alts = append(alts, query.NewDisjunctionQuery(g.wordClauses(w, true, 0)))
	}
	return query.NewDisjunctionQuery(alts)
}

func term(t, field string, boost float64) query.Query {
	q := query.NewTermQuery(t)
	q.SetField(field)
	if boost > 0 {
		q.SetBoost(boost)
	}
	return q
}

func phrase(terms []string, field string, boost float64) query.Query {
	q := query.NewPhraseQuery(terms, field)
	q.SetBoost(boost)
	return q
}

func bigrams(runes []rune) []string {
	out := make([]string, 0, len(runes)-1)
	for i := 0; i+1 < len(runes); i++ {
		out = append(out, string(runes[i:i+2]))
	}
	return out
}

// boosted scales q's scores by b. Bleve ignores the boost of compound
// queries (conjunction, disjunction, boolean), so their leaves' boosts are
// scaled instead: a compound's score is linear in its leaves' (sums times
// coordination factors), so this multiplies it by b. (A custom-score
// wrapper would do the same at the cost of loading every hit's id.) A
// leaf's own boost is set to b.
func boosted(q query.Query, b float64) query.Query {
	switch q.(type) {
	case *query.DisjunctionQuery, *query.ConjunctionQuery, *query.BooleanQuery:
		if b != 1 {
			scaleBoosts(q, b)
		}
		return q
	}
	if bq, ok := q.(query.BoostableQuery); ok {
		bq.SetBoost(b)
	}
	return q
}

// scaleBoosts multiplies the boost of every scoring leaf under q by b.
func scaleBoosts(q query.Query, b float64) {
	switch x := q.(type) {
	case *query.DisjunctionQuery:
		for _, c := range x.Disjuncts {
			scaleBoosts(c, b)
		}
	case *query.ConjunctionQuery:
		for _, c := range x.Conjuncts {
			scaleBoosts(c, b)
		}
	case *query.BooleanQuery:
		scaleBoosts(x.Must, b)
		scaleBoosts(x.Should, b)
	case query.BoostableQuery:
		x.SetBoost(x.Boost() * b)
	}
}
