package search

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Suggest limits.
const (
	DefaultSuggestLimit = 10
	MaxSuggestLimit     = 50
	suggestScanCap      = 20000            // entries examined for one prefix at most
	suggestRefresh      = 10 * time.Second // min age before a rebuild after changes
)

// Suggestion is one completion.
type Suggestion struct {
	Text       string
	Popularity int64 // summed sales of the products it describes
}

// Suggest completes a prefix typed in Chinese, Latin letters, full pinyin
// ("lianyi" → 连衣裙) or pinyin initials ("lyq" → 连衣裙) to brand, category
// and brand+category and attribute+category phrases, most popular first.
func (ix *Index) Suggest(ctx context.Context, prefix string, limit int) ([]Suggestion, error) {
	p := strings.Join(strings.Fields(normalize(prefix)), "")
	switch {
	case p == "":
		return nil, fmt.Errorf("%w: suggest prefix is empty", ErrInvalidQuery)
	case runeLen(p) > MaxQueryRunes:
		return nil, fmt.Errorf("%w: suggest prefix longer than %d characters", ErrInvalidQuery, MaxQueryRunes)
	case limit < 0 || limit > MaxSuggestLimit:
		return nil, fmt.Errorf("%w: suggest limit %d outside 0..%d", ErrInvalidQuery, limit, MaxSuggestLimit)
	}
	if limit == 0 {
		limit = DefaultSuggestLimit
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	g, release, err := ix.acquire()
	if err != nil {
		return nil, err
	}
	defer release()
	return g.suggester().lookup(p, limit), nil
}

// suggester returns the current suggestion table, building it the first
// time and refreshing it in the background after changes.
func (g *generation) suggester() *suggester {
	g.sugMu.Lock()
	defer g.sugMu.Unlock()
	if g.sug == nil {
		g.sug = g.buildSuggester()
		g.sugDirty, g.sugBuilt = false, time.Now()
	} else if g.sugDirty && time.Since(g.sugBuilt) > suggestRefresh {
		g.sugDirty, g.sugBuilt = false, time.Now()
		go func() {
			s := g.buildSuggester()
			g.sugMu.Lock()
			g.sug = s
			g.sugMu.Unlock()
		}()
	}
	return g.sug
}

type suggestEntry struct {
	key    string
	phrase int
}

// suggester is a sorted table of (key, phrase) where keys are a phrase's
// text, full pinyin and pinyin initials.
type suggester struct {
	phrases []Suggestion
	entries []suggestEntry
}

func (g *generation) buildSuggester() *suggester {
	pop := map[string]int64{}
	g.pmu.RLock()
	prods := slices.Clone(g.docs.prods) // products are never modified in place
	g.pmu.RUnlock()
	for _, p := range prods {
		if p == nil {
			continue
		}
		w := max(1, p.Sales)
		levels := p.CategoryLevels()
		leaf := ""
		if len(levels) > 0 {
			leaf = levels[len(levels)-1]
		}
		for _, l := range levels {
			pop[l] += w
		}
		for _, n := range p.BrandNames() {
			pop[n] += w
			if leaf != "" {
				pop[n+leaf] += w
			}
		}
		if leaf != "" {
			for _, v := range p.Attrs.Values() {
				if n := runeLen(v); n >= 2 && n <= 4 && hasHan(v) && v != leaf {
					pop[v+leaf] += w
				}
			}
		}
	}
	s := &suggester{}
	for text, n := range pop {
		id := len(s.phrases)
		s.phrases = append(s.phrases, Suggestion{Text: text, Popularity: n})
		for _, k := range g.suggestKeys(text) {
			s.entries = append(s.entries, suggestEntry{k, id})
		}
	}
	sort.Slice(s.entries, func(i, j int) bool { return s.entries[i].key < s.entries[j].key })
	return s
}

// suggestKeys are the strings a phrase can be typed as.
func (g *generation) suggestKeys(text string) []string {
	norm := strings.Join(strings.Fields(normalize(text)), "")
	keys := []string{norm}
	if !hasHan(norm) {
		return keys
	}
	var full, ini strings.Builder
	for _, r := range norm {
		if isHan(r) {
			if rs := g.an.py.readings(r); len(rs) > 0 {
				full.WriteString(rs[0])
				ini.WriteByte(rs[0][0])
			}
			continue
		}
		full.WriteRune(r)
		ini.WriteRune(r)
	}
	return append(keys, full.String(), ini.String())
}

func (s *suggester) lookup(prefix string, limit int) []Suggestion {
	i := sort.Search(len(s.entries), func(i int) bool { return s.entries[i].key >= prefix })
	seen := map[int]bool{}
	var out []Suggestion
	for n := 0; i < len(s.entries) && n < suggestScanCap && strings.HasPrefix(s.entries[i].key, prefix); i, n = i+1, n+1 {
		if id := s.entries[i].phrase; !seen[id] {
			seen[id] = true
			out = append(out, s.phrases[id])
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Popularity != out[j].Popularity {
			return out[i].Popularity > out[j].Popularity
		}
		return out[i].Text < out[j].Text
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}
