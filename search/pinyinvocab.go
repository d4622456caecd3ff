package search

import (
	"sort"
	"strings"
)

// maxReadingCombos caps the pinyin spellings kept for one word with
// polyphonic characters.
const maxReadingCombos = 4

// pinyinVocab maps the full pinyin and the initials of known words (the
// user dictionary and frequent title words) back to the words, so a query
// typed in pinyin ("kuangweifanbuxie", "nkydx") is converted to Chinese
// words (匡威 帆布鞋, 耐克 运动鞋) and searched like them.
type pinyinVocab struct {
	full, ini             map[string][]string
	maxFullKey, maxIniKey int
	freq                  map[string]int // products using the word
}

// newPinyinVocab indexes words (word → how many products use it).
func newPinyinVocab(py *pinyinTable, words map[string]int) *pinyinVocab {
	v := &pinyinVocab{full: map[string][]string{}, ini: map[string][]string{}, freq: words}
	sorted := make([]string, 0, len(words))
	for w := range words {
		sorted = append(sorted, w)
	}
	sort.Strings(sorted)
	for _, w := range sorted {
		runes := []rune(w)
		if len(runes) < 2 {
			continue
		}
		combos := []string{""}
		inis := []string{""}
		ok := true
		for _, r := range runes {
			if !isHan(r) {
				ok = false
				break
			}
			rs := py.readings(r)
			if len(rs) == 0 {
				ok = false
				break
			}
			var next, nextIni []string
			for i, c := range combos {
				for _, s := range rs {
					if len(next) < maxReadingCombos {
						next = append(next, c+s)
						nextIni = append(nextIni, inis[i]+s[:1])
					}
				}
			}
			combos, inis = next, nextIni
		}
		if !ok {
			continue
		}
		for i := range combos {
			v.add(v.full, combos[i], w, &v.maxFullKey)
		}
		v.add(v.ini, inis[0], w, &v.maxIniKey) // common readings only
	}
	return v
}

func (v *pinyinVocab) add(m map[string][]string, key, w string, maxKey *int) {
	if !containsStr(m[key], w) {
		m[key] = append(m[key], w)
	}
	*maxKey = max(*maxKey, len(key))
}

// piece is one part of a converted pinyin query: candidate words, or (when
// none) the raw syllable/letter matched in the pinyin field.
type piece struct {
	words []string
	raw   string
}

// convert covers a Latin word with known words' pinyin (or initials),
// allowing at most one uncovered syllable (letter); it prefers fewer,
// longer words. ok is false when no cover with a known word exists.
func (v *pinyinVocab) convert(py *pinyinTable, w string, initials bool) (pieces []piece, ok bool) {
	m, maxKey := v.full, v.maxFullKey
	if initials {
		m, maxKey = v.ini, v.maxIniKey
	}
	n := len(w)
	const inf = 1 << 30
	type state struct{ cost, next, gaps int }
	best := make([]state, n+1)
	for i := range best {
		best[i] = state{cost: inf}
	}
	best[n] = state{}
	for i := n - 1; i >= 0; i-- {
		for j := min(n, i+maxKey); j > i; j-- {
			if _, hit := m[w[i:j]]; hit && best[j].cost < inf && best[j].cost+1 < best[i].cost {
				best[i] = state{best[j].cost + 1, j, best[j].gaps}
			}
		}
		// A gap: one syllable (full) or one letter (initials).
		for j := i + 1; j <= min(n, i+py.maxLen); j++ {
			gap := j == i+1 && initials || !initials && py.syllables[w[i:j]]
			if gap && best[j].cost < inf && best[j].gaps == 0 && best[j].cost+3 < best[i].cost {
				best[i] = state{best[j].cost + 3, j, 1}
			}
			if initials {
				break
			}
		}
	}
	if best[0].cost >= inf {
		return nil, false
	}
	known := false
	for i := 0; i < n; i = best[i].next {
		seg := w[i:best[i].next]
		if ws, hit := m[seg]; hit {
			pieces = append(pieces, piece{words: ws})
			known = true
		} else {
			pieces = append(pieces, piece{raw: seg})
		}
	}
	return pieces, known
}

// vowels counts a, e, i, o, u, v.
func vowels(w string) int {
	n := 0
	for i := 0; i < len(w); i++ {
		if strings.IndexByte("aeiouv", w[i]) >= 0 {
			n++
		}
	}
	return n
}
