package search

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// normalizeRune folds full-width ASCII (Ａ１！) to half-width and lower-cases.
func normalizeRune(r rune) rune {
	switch {
	case r >= 0xFF01 && r <= 0xFF5E:
		r -= 0xFEE0
	case r == 0x3000:
		r = ' '
	}
	return unicode.ToLower(r)
}

// normalize applies normalizeRune to every rune of s.
func normalize(s string) string {
	return strings.Map(normalizeRune, s)
}

// wordRune reports whether r can be part of a searchable token.
func wordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// isLatinWord reports whether s is made of ASCII letters and digits only.
func isLatinWord(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}

// hasHan reports whether s contains a Han character.
func hasHan(s string) bool {
	for _, r := range s {
		if isHan(r) {
			return true
		}
	}
	return false
}

// alnumParts splits a mixed Latin token at letter/digit boundaries:
// "mate60" → [mate 60]. It returns nil when there is nothing to split.
func alnumParts(s string) []string {
	if !isLatinWord(s) {
		return nil
	}
	var parts []string
	start := 0
	for i := 1; i <= len(s); i++ {
		if i == len(s) || isDigit(s[i]) != isDigit(s[i-1]) {
			parts = append(parts, s[start:i])
			start = i
		}
	}
	if len(parts) < 2 {
		return nil
	}
	return parts
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// runeLen is utf8.RuneCountInString, shorter.
func runeLen(s string) int { return utf8.RuneCountInString(s) }

// searchable reports whether a segmenter output is worth a token: it has a
// letter or a digit (punctuation, spaces and symbols are dropped).
func searchable(w string) bool {
	for _, r := range w {
		if wordRune(r) {
			return true
		}
	}
	return false
}
