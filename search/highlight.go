package search

import (
	"html"
	"strings"
)

// highlighter marks the parts of a title that a query matched: its words
// and their synonyms, pinyin and initials spelled in Latin letters, and
// Latin words within typo distance.
type highlighter struct {
	py       *pinyinTable
	terms    [][]rune
	syllable [][]string
	initials [][]string
	fuzzy    []string
}

func (g *generation) highlighter(words []string) highlighter {
	h := highlighter{py: g.an.py}
	add := func(s string) {
		if s != "" {
			h.terms = append(h.terms, []rune(s))
		}
	}
	for _, w := range words {
		add(w)
		for _, e := range g.an.syn.Expand(w) {
			add(e.Text)
		}
		if !isASCIILower(w) {
			continue
		}
		if syl, ok := g.an.py.split(w); ok && len(syl) > 1 {
			h.syllable = append(h.syllable, syl)
		} else if len(w) >= 2 && len(w) <= 8 {
			h.initials = append(h.initials, strings.Split(w, ""))
		}
		if fuzziness(len(w), false) > 0 {
			h.fuzzy = append(h.fuzzy, w)
		}
	}
	return h
}

func (h highlighter) html(title string) string {
	orig := []rune(title)
	norm := []rune(normalize(title)) // normalizeRune keeps one rune per rune
	mark := make([]bool, len(orig))
	for _, t := range h.terms {
		for i := 0; i+len(t) <= len(norm); i++ {
			if equalRunes(norm[i:i+len(t)], t) {
				for k := range t {
					mark[i+k] = true
				}
			}
		}
	}
	if len(h.syllable) > 0 || len(h.initials) > 0 {
		reads := make([][]string, len(norm))
		for i, r := range norm {
			if isHan(r) {
				reads[i] = h.py.readings(r)
			}
		}
		h.markPinyin(mark, reads, h.syllable, false)
		h.markPinyin(mark, reads, h.initials, true)
	}
	if len(h.fuzzy) > 0 {
		for i := 0; i < len(norm); {
			if !isLatinRune(norm[i]) {
				i++
				continue
			}
			j := i
			for j < len(norm) && isLatinRune(norm[j]) {
				j++
			}
			word := string(norm[i:j])
			for _, f := range h.fuzzy {
				if editDistance(word, f) <= fuzziness(len(f), false) {
					for k := i; k < j; k++ {
						mark[k] = true
					}
				}
			}
			i = j
		}
	}
	var b strings.Builder
	for i := 0; i < len(orig); {
		j := i
		for j < len(orig) && mark[j] == mark[i] {
			j++
		}
		if mark[i] {
			b.WriteString("<em>")
		}
		b.WriteString(html.EscapeString(string(orig[i:j])))
		if mark[i] {
			b.WriteString("</em>")
		}
		i = j
	}
	return b.String()
}

func (h highlighter) markPinyin(mark []bool, reads [][]string, seqs [][]string, initials bool) {
	for _, seq := range seqs {
		for i := 0; i+len(seq) <= len(reads); i++ {
			ok := true
			for k, s := range seq {
				if !readingMatches(reads[i+k], s, initials) {
					ok = false
					break
				}
			}
			if ok {
				for k := range seq {
					mark[i+k] = true
				}
			}
		}
	}
}

func readingMatches(reads []string, s string, initials bool) bool {
	for _, r := range reads {
		if r == s || initials && strings.HasPrefix(r, s) {
			return true
		}
	}
	return false
}

func isLatinRune(r rune) bool { return r >= 'a' && r <= 'z' || r >= '0' && r <= '9' }

func equalRunes(a, b []rune) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// editDistance is the Levenshtein distance between two ASCII strings.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
