package search

import (
	"strings"
	"unicode"
	"unicode/utf8"

	index "github.com/blevesearch/bleve_index_api"
)

// The index's text fields are analysed by this package straight into
// Bleve's term frequencies (textField, termSink): no Bleve analyzer, no
// token objects. Each tokenizer calls emit once per token, in order.

// emitFunc receives a token: its term, its byte offsets in the analysed
// text and its position (from 1; tokens at one position are alternatives).
type emitFunc func(term string, start, end, pos int)

// zhTokens emits the gse words of text for indexing (see
// Analysis.indexTokens), at consecutive positions.
func (a *Analysis) zhTokens(text string, emit emitFunc) {
	for i, tk := range a.indexTokens(text) {
		emit(tk.term, tk.start, tk.end, i+1)
	}
}

// ngramTokens emits, for runs of Han characters, every character and every
// adjacent pair (the pair at its first character's position), and for
// Latin/digit runs the lower-cased run and its letter/digit parts. They let
// unknown words, single characters and partial words match. Offsets are in
// the normalised text.
func ngramTokens(text string, emit emitFunc) {
	s := normalize(text)
	pos := 0
	for off := 0; off < len(s); {
		r, size := utf8.DecodeRuneInString(s[off:])
		switch {
		case isHan(r):
			pos++
			emit(s[off:off+size], off, off+size, pos)
			if r2, size2 := utf8.DecodeRuneInString(s[off+size:]); off+size < len(s) && isHan(r2) {
				emit(s[off:off+size+size2], off, off+size+size2, pos)
			}
			off += size
		case wordRune(r):
			end := off
			for end < len(s) {
				r2, size2 := utf8.DecodeRuneInString(s[end:])
				if !wordRune(r2) || isHan(r2) {
					break
				}
				end += size2
			}
			w := s[off:end]
			pos++
			emit(w, off, end, pos)
			if parts := alnumParts(w); parts != nil {
				o := off
				for _, p := range parts {
					pos++
					emit(p, o, o+len(p), pos)
					o += len(p)
				}
			}
			off = end
		default:
			if !unicode.IsSpace(r) {
				pos++ // a gap: phrases do not cross punctuation
			}
			off += size
		}
	}
}

// pinyinTokens emits the toneless pinyin (or, with initials, the first
// letters) of each Han character, every reading of a polyphonic character
// at the same position. Non-Han text leaves a position gap.
func (t *pinyinTable) tokens(text string, initials bool, emit emitFunc) {
	pos := 0
	gap := false
	for off, r := range text {
		if !isHan(r) {
			if !gap {
				pos++
				gap = true
			}
			continue
		}
		gap = false
		pos++
		end := off + utf8.RuneLen(r)
		reads := t.readings(r)
		if initials {
			if len(reads) > 0 {
				emit(reads[0][:1], off, end, pos)
			}
			continue
		}
		for i, s := range reads {
			if i == 0 || s != reads[0] {
				emit(s, off, end, pos)
			}
		}
	}
}

// listTokens emits each listSep-separated value whole, as a keyword.
func listTokens(text string, emit emitFunc) {
	pos := 0
	for off := 0; off <= len(text); {
		end := strings.Index(text[off:], listSep)
		if end < 0 {
			end = len(text)
		} else {
			end += off
		}
		if end > off {
			pos++
			emit(text[off:end], off, end, pos)
		}
		off = end + len(listSep)
	}
}

// termSink accumulates tokens into Bleve's term frequencies. Term bytes,
// TokenFreqs and locations come from slabs: a document's analysis makes a
// handful of allocations instead of several per token.
type termSink struct {
	freqs     index.TokenFrequencies
	positions bool
	n         int
	tfs       []index.TokenFreq
	bytes     []byte
	locs      []index.TokenLocation
	ptrs      []*index.TokenLocation
}

// newTermSink sizes the slabs for a text of textLen bytes.
func newTermSink(textLen int, positions bool) *termSink {
	est := textLen/3 + 4 // about one term per character (3 bytes in UTF-8)
	s := &termSink{
		freqs:     make(index.TokenFrequencies, est),
		positions: positions,
		tfs:       make([]index.TokenFreq, 0, est),
		bytes:     make([]byte, 0, textLen+16),
	}
	if positions {
		s.locs = make([]index.TokenLocation, 0, est)
		s.ptrs = make([]*index.TokenLocation, 0, est)
	}
	return s
}

func (s *termSink) add(term string, start, end, pos int) {
	s.n++
	tf, ok := s.freqs[term]
	if !ok {
		if len(s.tfs) == cap(s.tfs) {
			s.tfs = make([]index.TokenFreq, 0, 2*cap(s.tfs)+8)
		}
		s.tfs = append(s.tfs, index.TokenFreq{})
		tf = &s.tfs[len(s.tfs)-1]
		if len(s.bytes)+len(term) > cap(s.bytes) {
			s.bytes = make([]byte, 0, max(2*cap(s.bytes), len(term)))
		}
		from := len(s.bytes)
		s.bytes = append(s.bytes, term...)
		tf.Term = s.bytes[from:len(s.bytes):len(s.bytes)]
		s.freqs[term] = tf
	}
	tf.SetFrequency(tf.Frequency() + 1)
	if !s.positions {
		return
	}
	if len(s.locs) == cap(s.locs) {
		s.locs = make([]index.TokenLocation, 0, 2*cap(s.locs)+8)
	}
	s.locs = append(s.locs, index.TokenLocation{Start: start, End: end, Position: pos})
	loc := &s.locs[len(s.locs)-1]
	if tf.Locations != nil {
		tf.Locations = append(tf.Locations, loc)
		return
	}
	if len(s.ptrs) == cap(s.ptrs) {
		s.ptrs = make([]*index.TokenLocation, 0, 2*cap(s.ptrs)+8)
	}
	s.ptrs = append(s.ptrs, loc)
	tf.Locations = s.ptrs[len(s.ptrs)-1 : len(s.ptrs) : len(s.ptrs)]
}

// textField is an indexed, unstored text field analysed by fill.
type textField struct {
	name   string
	value  string
	opts   index.FieldIndexingOptions
	fill   func(text string, emit emitFunc)
	length int
	freqs  index.TokenFrequencies
}

func newTextField(name, value string, positions bool, fill func(string, emitFunc)) *textField {
	opts := index.IndexField
	if positions {
		opts |= index.IncludeTermVectors
	}
	return &textField{name: name, value: value, opts: opts, fill: fill}
}

func (f *textField) Name() string                        { return f.name }
func (f *textField) ArrayPositions() []uint64            { return nil }
func (f *textField) Options() index.FieldIndexingOptions { return f.opts }
func (f *textField) Value() []byte                       { return []byte(f.value) }
func (f *textField) NumPlainTextBytes() uint64           { return uint64(len(f.value)) }
func (f *textField) EncodedFieldType() byte              { return 't' }
func (f *textField) AnalyzedLength() int                 { return f.length }
func (f *textField) AnalyzedTokenFrequencies() index.TokenFrequencies {
	return f.freqs
}

// Size estimates the field's memory, for Bleve's statistics.
func (f *textField) Size() int {
	n := 96 + len(f.name) + len(f.value)
	for term, tf := range f.freqs {
		n += 2*len(term) + 64 + 40*len(tf.Locations)
	}
	return n
}

// Analyze fills the term frequencies.
func (f *textField) Analyze() {
	s := newTermSink(len(f.value), f.opts.IncludeTermVectors())
	f.fill(f.value, s.add)
	f.length, f.freqs = s.n, s.freqs
}
