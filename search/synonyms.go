package search

import (
	"bufio"
	_ "embed"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

//go:embed synonyms.txt
var defaultSynonymsText string

// Expansion is one word a query word also searches for.
type Expansion struct {
	// Text is the expansion, normalised (lower case, half-width).
	Text string
	// Scopes, when set, restrict the expansion to products that have a
	// category level with one of these names.
	Scopes []string
}

// Synonyms maps a query word to the words it also searches for. The zero
// value is empty and usable. Build one with ParseSynonyms, LoadSynonyms or
// DefaultSynonyms; it is read-only once handed to an Index.
type Synonyms struct {
	m map[string][]Expansion
}

// DefaultSynonyms returns the shipped list (search/synonyms.txt).
func DefaultSynonyms() *Synonyms {
	s, err := ParseSynonyms(strings.NewReader(defaultSynonymsText))
	if err != nil {
		// The shipped file is covered by tests; reaching this is a build bug.
		panic(fmt.Sprintf("search: shipped synonyms.txt: %v", err))
	}
	return s
}

// LoadSynonyms reads an operator's synonym file (same format as the shipped
// synonyms.txt).
func LoadSynonyms(path string) (*Synonyms, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load synonyms: %w", err)
	}
	defer f.Close()
	s, err := ParseSynonyms(f)
	if err != nil {
		return nil, fmt.Errorf("load synonyms %s: %w", path, err)
	}
	return s, nil
}

// ParseSynonyms parses the synonym format, one rule per line:
//
//	a, b, c          equivalent words
//	a => b, c        one-way: a also finds b and c
//	[数码|手机] a, b   the expansions only match products with such a category level
//
// '#' starts a comment line; full-width commas are accepted.
func ParseSynonyms(r io.Reader) (*Synonyms, error) {
	s := &Synonyms{}
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		var scopes []string
		if strings.HasPrefix(text, "[") {
			end := strings.Index(text, "]")
			if end < 0 {
				return nil, fmt.Errorf("line %d: unclosed '[' in %q", line, text)
			}
			for _, sc := range strings.Split(text[1:end], "|") {
				if sc = strings.TrimSpace(sc); sc != "" {
					scopes = append(scopes, sc)
				}
			}
			if len(scopes) == 0 {
				return nil, fmt.Errorf("line %d: empty scope in %q", line, text)
			}
			text = strings.TrimSpace(text[end+1:])
		}
		if lhs, rhs, oneWay := strings.Cut(text, "=>"); oneWay {
			from := splitWords(lhs)
			to := splitWords(rhs)
			if len(from) == 0 || len(to) == 0 {
				return nil, fmt.Errorf("line %d: %q needs words on both sides of =>", line, text)
			}
			for _, f := range from {
				for _, t := range to {
					s.add(f, t, scopes)
				}
			}
			continue
		}
		words := splitWords(text)
		if len(words) < 2 {
			return nil, fmt.Errorf("line %d: %q needs at least two words", line, text)
		}
		s.AddEquivalent(scopes, words...)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return s, nil
}

func splitWords(s string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '，' || r == '、' }) {
		if w = normalize(strings.TrimSpace(w)); w != "" {
			out = append(out, w)
		}
	}
	return out
}

// AddEquivalent records that the words all mean the same thing.
func (s *Synonyms) AddEquivalent(scopes []string, words ...string) {
	for i, a := range words {
		for j, b := range words {
			if i != j {
				s.add(normalize(a), normalize(b), scopes)
			}
		}
	}
}

func (s *Synonyms) add(from, to string, scopes []string) {
	if from == to || from == "" || to == "" {
		return
	}
	if s.m == nil {
		s.m = make(map[string][]Expansion)
	}
	for _, e := range s.m[from] {
		if e.Text == to && strings.Join(e.Scopes, "|") == strings.Join(scopes, "|") {
			return
		}
	}
	s.m[from] = append(s.m[from], Expansion{Text: to, Scopes: scopes})
}

// Merge returns a new list holding both lists' rules.
func (s *Synonyms) Merge(o *Synonyms) *Synonyms {
	out := &Synonyms{}
	for _, src := range []*Synonyms{s, o} {
		if src == nil {
			continue
		}
		for k, es := range src.m {
			for _, e := range es {
				out.add(k, e.Text, e.Scopes)
			}
		}
	}
	return out
}

// Expand returns what a (normalised) query word also searches for.
func (s *Synonyms) Expand(word string) []Expansion {
	if s == nil {
		return nil
	}
	return s.m[word]
}

// Words returns every word the list mentions, for the segmenter's user
// dictionary, sorted.
func (s *Synonyms) Words() []string {
	if s == nil {
		return nil
	}
	seen := map[string]bool{}
	for k, es := range s.m {
		seen[k] = true
		for _, e := range es {
			seen[e.Text] = true
		}
	}
	out := make([]string, 0, len(seen))
	for w := range seen {
		out = append(out, w)
	}
	sort.Strings(out)
	return out
}

// Len is the number of words with expansions.
func (s *Synonyms) Len() int {
	if s == nil {
		return 0
	}
	return len(s.m)
}
