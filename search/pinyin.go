package search

import (
	"strings"
	"unicode"

	"github.com/mozillazg/go-pinyin"
)

// maxReadings caps how many readings of a polyphonic character (多音字) are
// indexed at one position. The dictionary lists the common reading first;
// rarer ones beyond the second mostly add false matches (眼 yan/wen).
// Initials use the first reading only.
const maxReadings = 2

// pinyinTable converts Han characters to toneless pinyin (ü written as v,
// as on a phone keyboard) and splits run-together pinyin into syllables.
type pinyinTable struct {
	reads     map[rune][]string // precomputed: the library converts with regexps
	dense     [][]string        // reads of denseLo..denseHi, for speed
	syllables map[string]bool
	maxLen    int
}

// The CJK Extension A and Unified Ideographs blocks, where nearly all
// product text lies, are looked up in a slice.
const denseLo, denseHi = 0x3400, 0xA000

func newPinyinTable() *pinyinTable {
	args := pinyin.NewArgs()
	args.Style = pinyin.Normal
	args.Heteronym = true
	t := &pinyinTable{reads: make(map[rune][]string, len(pinyin.PinyinDict)), syllables: make(map[string]bool, 512)}
	// The syllable inventory is whatever the pinyin dictionary can produce,
	// so the splitter and the index always agree.
	for cp := range pinyin.PinyinDict {
		var out []string
		for _, s := range pinyin.SinglePinyin(rune(cp), args) {
			s = strings.ReplaceAll(s, "ü", "v")
			if s == "" || !isASCIILower(s) || containsStr(out, s) {
				continue
			}
			t.syllables[s] = true
			t.maxLen = max(t.maxLen, len(s))
			if len(out) < maxReadings {
				out = append(out, s)
			}
		}
		if len(out) > 0 {
			t.reads[rune(cp)] = out
		}
	}
	t.dense = make([][]string, denseHi-denseLo)
	for r, rs := range t.reads {
		if r >= denseLo && r < denseHi {
			t.dense[r-denseLo] = rs
		}
	}
	return t
}

// readings returns up to maxReadings toneless readings of a Han character,
// the common one first. The slice is shared: do not modify it.
func (t *pinyinTable) readings(r rune) []string {
	if r >= denseLo && r < denseHi {
		return t.dense[r-denseLo]
	}
	return t.reads[r]
}

// full returns the first-reading pinyin of every Han character in s, in
// order (non-Han characters are skipped).
func (t *pinyinTable) full(s string) []string {
	var out []string
	for _, r := range s {
		if isHan(r) {
			if rs := t.readings(r); len(rs) > 0 {
				out = append(out, rs[0])
			}
		}
	}
	return out
}

// split cuts run-together pinyin ("lianyiqun") into syllables
// ([lian yi qun]), preferring the fewest syllables. ok is false when s is
// not entirely pinyin.
func (t *pinyinTable) split(s string) (syl []string, ok bool) {
	if s == "" || !isASCIILower(s) {
		return nil, false
	}
	n := len(s)
	const inf = 1 << 30
	best := make([]int, n+1) // fewest syllables for s[i:]
	next := make([]int, n+1)
	best[n] = 0
	for i := n - 1; i >= 0; i-- {
		best[i] = inf
		for l := min(t.maxLen, n-i); l >= 1; l-- {
			if t.syllables[s[i:i+l]] && best[i+l] < inf && best[i+l]+1 < best[i] {
				best[i], next[i] = best[i+l]+1, i+l
			}
		}
	}
	if best[0] >= inf {
		return nil, false
	}
	for i := 0; i < n; i = next[i] {
		syl = append(syl, s[i:next[i]])
	}
	return syl, true
}

func isHan(r rune) bool { return unicode.Is(unicode.Han, r) }

func isASCIILower(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return s != ""
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
