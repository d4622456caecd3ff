package search

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
)

func isInvalid(err error) bool { return errors.Is(err, ErrInvalidQuery) }

func TestAttrsBothShapes(t *testing.T) {
	var p Product
	err := json.Unmarshal([]byte(`{"id":"x","title":"t","price_fen":1,"attrs":{"颜色":["黑色","白色"],"尺码":"M","重量":500,"空":null}}`), &p)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Attrs["颜色"], []string{"黑色", "白色"}) || !slices.Equal(p.Attrs["尺码"], []string{"M"}) || p.Attrs["重量"][0] != "500" {
		t.Errorf("attrs %v", p.Attrs)
	}
	if err := json.Unmarshal([]byte(`{"attrs":{"颜色":{"a":1}}}`), &p); err == nil {
		t.Error("object attribute value accepted")
	}
	b, _ := json.Marshal(p.Attrs)
	if !strings.Contains(string(b), `"尺码":"M"`) || !strings.Contains(string(b), `"颜色":["黑色","白色"]`) {
		t.Errorf("round trip %s", b)
	}
	if got := (&Product{Brand: "耐克/Nike"}).BrandNames(); !slices.Equal(got, []string{"耐克", "Nike"}) {
		t.Errorf("brand names %v", got)
	}
	if got := (&Product{Brand: Unbranded}).BrandNames(); got != nil {
		t.Errorf("unbranded names %v", got)
	}
	if _, err := ReadProducts(strings.NewReader("{\"id\":\"a\",\"title\":\"x\"}\n{bad\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad catalog line: %v", err)
	}
}

func TestSegmentation(t *testing.T) {
	ix := sharedIndex(t)
	g, release, err := ix.acquire()
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	for text, want := range map[string][]string{
		"耐克运动鞋黑色":      {"耐克", "运动鞋", "黑色"},
		"雅诗兰黛小棕瓶精华液":   {"雅诗兰黛", "小棕瓶", "精华液"},
		"三只松鼠每日坚果":     {"三只松鼠", "每日坚果"}, // catalog brand + shipped word
		"ＮＩＫＥ　Ａｉｒ":     {"nike", "air"},  // full-width folded
		"iPhone15 手机壳": {"iphone15", "手机壳"},
	} {
		if got := g.an.Segment(text); !slices.Equal(got, want) {
			t.Errorf("Segment(%q) = %v, want %v", text, got, want)
		}
	}
	var terms []string
	for _, tk := range g.an.indexTokens("男子运动鞋 Mate60") {
		terms = append(terms, tk.term)
	}
	for _, want := range []string{"运动鞋", "运动", "mate60", "mate", "60"} {
		if !slices.Contains(terms, want) {
			t.Errorf("index tokens %v lack %q", terms, want)
		}
	}
}

func TestPinyin(t *testing.T) {
	py := newPinyinTable()
	for in, want := range map[string]string{"lianyiqun": "lian yi qun", "xian": "xian", "naikeyundongxie": "nai ke yun dong xie", "nv": "nv"} {
		syl, ok := py.split(in)
		if !ok || strings.Join(syl, " ") != want {
			t.Errorf("split(%q) = %v %v, want %s", in, syl, ok, want)
		}
	}
	if _, ok := py.split("iphone"); ok {
		t.Error("iphone split as pinyin")
	}
	if got := py.readings('长'); !slices.Contains(got, "chang") || !slices.Contains(got, "zhang") {
		t.Errorf("readings(长) = %v", got)
	}
	toks := tokens(func(s string, emit emitFunc) { py.tokens(s, false, emit) }, "长裙Nike")
	if len(toks) != 3 || toks[0].pos != toks[1].pos || toks[2].term != "qun" {
		t.Errorf("pinyin tokens %v", toks)
	}
	toks = tokens(func(s string, emit emitFunc) { py.tokens(s, true, emit) }, "连衣裙")
	if got := terms(toks); !slices.Equal(got, []string{"l", "y", "q"}) {
		t.Errorf("initials %v", got)
	}
	toks = tokens(ngramTokens, "连衣裙 Mate60")
	if got := terms(toks); !slices.Equal(got, []string{"连", "连衣", "衣", "衣裙", "裙", "mate60", "mate", "60"}) {
		t.Errorf("ngram tokens %v", got)
	}
	if got := toks[1]; got.pos != 1 || got.start != 0 || got.end != len("连衣") {
		t.Errorf("bigram token %+v", got)
	}
	if got := terms(tokens(listTokens, "女装"+listSep+"连衣裙")); !slices.Equal(got, []string{"女装", "连衣裙"}) {
		t.Errorf("list tokens %v", got)
	}
}

type testToken struct {
	term            string
	start, end, pos int
}

func tokens(fill func(string, emitFunc), text string) []testToken {
	var out []testToken
	fill(text, func(term string, start, end, pos int) { out = append(out, testToken{term, start, end, pos}) })
	return out
}

func terms(ts []testToken) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.term)
	}
	return out
}

func TestSynonymFormat(t *testing.T) {
	s, err := ParseSynonyms(strings.NewReader("# c\n裙子 => 连衣裙, 半身裙\n耐克，NIKE\n[数码|手机] 苹果, Apple\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Expand("裙子"); len(got) != 2 || got[0].Text != "连衣裙" {
		t.Errorf("one-way %v", got)
	}
	if got := s.Expand("连衣裙"); got != nil {
		t.Errorf("one-way reversed: %v", got)
	}
	if got := s.Expand("nike"); len(got) != 1 || got[0].Text != "耐克" {
		t.Errorf("equivalent, normalised: %v", got)
	}
	if got := s.Expand("apple"); len(got) != 1 || !slices.Equal(got[0].Scopes, []string{"数码", "手机"}) {
		t.Errorf("scoped %v", got)
	}
	for _, bad := range []string{"单词\n", "a =>\n", "[数码 a, b\n", "[] a, b\n"} {
		if _, err := ParseSynonyms(strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if DefaultSynonyms().Len() < 50 {
		t.Error("shipped synonym list is too short")
	}
}
