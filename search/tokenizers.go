package search

import (
	"errors"
	"fmt"
	"sync"
	"unicode"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/registry"
)

// Bleve tokenizer types registered by this package.
const (
	tokenizerZH       = "tide_zh"              // gse words + sub-words
	tokenizerNgram    = "tide_cjk_ngram"       // Han unigrams + bigrams, Latin words
	tokenizerPinyin   = "tide_pinyin"          // one toneless syllable per Han character
	tokenizerInitials = "tide_pinyin_initials" // one initial letter per Han character
)

// Bleve resolves tokenizer types through its process-wide registry, so ours
// must be registered once per process before the first mapping is built.
// We do it lazily from newMapping (not in init), guarded by this Once; the
// registry cannot be scoped to an index, which is why this one piece of
// package state exists.
var (
	registerOnce sync.Once
	registerErr  error
)

func registerTokenizers() error {
	registerOnce.Do(func() {
		registerErr = errors.Join(
			registry.RegisterTokenizer(tokenizerZH, func(cfg map[string]any, _ *registry.Cache) (analysis.Tokenizer, error) {
				a, err := analysisFrom(cfg)
				if err != nil {
					return nil, err
				}
				return zhTokenizer{a}, nil
			}),
			registry.RegisterTokenizer(tokenizerNgram, func(map[string]any, *registry.Cache) (analysis.Tokenizer, error) {
				return ngramTokenizer{}, nil
			}),
			registry.RegisterTokenizer(tokenizerPinyin, func(cfg map[string]any, _ *registry.Cache) (analysis.Tokenizer, error) {
				a, err := analysisFrom(cfg)
				if err != nil {
					return nil, err
				}
				return pinyinTokenizer{py: a.py}, nil
			}),
			registry.RegisterTokenizer(tokenizerInitials, func(cfg map[string]any, _ *registry.Cache) (analysis.Tokenizer, error) {
				a, err := analysisFrom(cfg)
				if err != nil {
					return nil, err
				}
				return pinyinTokenizer{py: a.py, initials: true}, nil
			}),
		)
	})
	return registerErr
}

// analysisRef carries the in-process *Analysis through Bleve's tokenizer
// config map. Bleve writes the mapping to the index's metadata as JSON; the
// reference is written as a marker string, so an index is always opened
// through this package with its Analysis (the index is rebuilt from the
// catalog, never reopened cold).
type analysisRef struct{ a *Analysis }

// MarshalJSON writes a marker instead of the segmenter's dictionary.
func (analysisRef) MarshalJSON() ([]byte, error) { return []byte(`"in-process"`), nil }

func analysisFrom(cfg map[string]any) (*Analysis, error) {
	ref, ok := cfg["analysis"].(analysisRef)
	if !ok || ref.a == nil {
		return nil, fmt.Errorf("tokenizer needs an in-process *search.Analysis; build the index with search.New")
	}
	return ref.a, nil
}

// zhTokenizer emits gse words for indexing (see Analysis.indexTokens).
type zhTokenizer struct{ a *Analysis }

func (t zhTokenizer) Tokenize(input []byte) analysis.TokenStream {
	toks := t.a.indexTokens(string(input))
	out := make(analysis.TokenStream, 0, len(toks))
	for i, tk := range toks {
		out = append(out, &analysis.Token{
			Term: []byte(tk.term), Start: tk.start, End: tk.end,
			Position: i + 1, Type: analysis.Ideographic,
		})
	}
	return out
}

// ngramTokenizer emits, for runs of Han characters, every character and
// every adjacent pair (the pair at its first character's position), and
// for Latin/digit runs the lower-cased run and its letter/digit parts. It
// lets unknown words, single characters and partial words match.
type ngramTokenizer struct{}

func (ngramTokenizer) Tokenize(input []byte) analysis.TokenStream {
	runes := []rune(normalize(string(input)))
	var out analysis.TokenStream
	pos, off := 0, 0
	emit := func(term string, start, p int) {
		out = append(out, &analysis.Token{Term: []byte(term), Start: start, End: start + len(term), Position: p, Type: analysis.Ideographic})
	}
	for i := 0; i < len(runes); {
		r := runes[i]
		switch {
		case isHan(r):
			pos++
			emit(string(r), off, pos)
			if i+1 < len(runes) && isHan(runes[i+1]) {
				emit(string(runes[i:i+2]), off, pos)
			}
			off += len(string(r))
			i++
		case wordRune(r):
			j := i
			for j < len(runes) && wordRune(runes[j]) && !isHan(runes[j]) {
				j++
			}
			w := string(runes[i:j])
			pos++
			emit(w, off, pos)
			if parts := alnumParts(w); parts != nil {
				o := off
				for _, p := range parts {
					pos++
					emit(p, o, pos)
					o += len(p)
				}
			}
			off += len(w)
			i = j
		default:
			if !unicode.IsSpace(r) {
				pos++ // a gap: phrases do not cross punctuation
			}
			off += len(string(r))
			i++
		}
	}
	return out
}

// pinyinTokenizer emits the toneless pinyin (or, with initials, the first
// letters) of each Han character, every reading of a polyphonic character
// at the same position. Non-Han text leaves a position gap.
type pinyinTokenizer struct {
	py       *pinyinTable
	initials bool
}

func (t pinyinTokenizer) Tokenize(input []byte) analysis.TokenStream {
	var out analysis.TokenStream
	pos, off := 0, 0
	gap := false
	for _, r := range string(input) {
		size := len(string(r))
		if !isHan(r) {
			if !gap {
				pos++
				gap = true
			}
			off += size
			continue
		}
		gap = false
		pos++
		var emitted []string
		reads := t.py.readings(r)
		if t.initials && len(reads) > 1 {
			reads = reads[:1]
		}
		for _, s := range reads {
			if t.initials {
				s = s[:1]
			}
			if containsStr(emitted, s) {
				continue
			}
			emitted = append(emitted, s)
			out = append(out, &analysis.Token{Term: []byte(s), Start: off, End: off + size, Position: pos, Type: analysis.AlphaNumeric})
		}
		off += size
	}
	return out
}
