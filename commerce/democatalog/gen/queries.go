package main

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/mozillazg/go-pinyin"
)

// intent is what a query asks for, in catalog terms. Relevance is judged
// from a product's category, brand and attributes, never from its title.
type intent struct {
	leaves map[string]int // category path → grade when everything else holds
	brand  string         // brand as in the catalog, "" = any
	attrs  [][2]string    // attribute key, value that must be present
}

// grade is 0..3: full match → the leaf's grade; right category but a
// brand or attribute missed → 1.
func (in intent) grade(p *product) int {
	g := 3
	if len(in.leaves) > 0 {
		g = in.leaves[p.Category]
		if g == 0 {
			return 0
		}
	}
	ok := in.brand == "" || p.Brand == in.brand
	for _, kv := range in.attrs {
		if !hasValue(p.Attrs[kv[0]], kv[1]) {
			ok = false
		}
	}
	switch {
	case ok:
		return g
	case len(in.leaves) > 0 && g == 3:
		return 1
	}
	return 0
}

func hasValue(v any, want string) bool {
	switch x := v.(type) {
	case string:
		return x == want
	case []string:
		for _, s := range x {
			if s == want {
				return true
			}
		}
	}
	return false
}

type labelled struct {
	text, kind string
	in         intent
}

func leafIntent(names ...string) intent {
	in := intent{leaves: map[string]int{}}
	for _, n := range names {
		for _, l := range leaves {
			if l.name == n || l.top+"/"+l.name == n {
				in.leaves[l.top+"/"+l.name] = 3
			}
		}
	}
	return in
}

func writeQueries(path string, r *rng, ps []product) (int, error) {
	qs := buildQueries(r, ps)
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "query\tproduct_id\tgrade\tkind")
	n := 0
	seen := map[string]bool{}
	for _, q := range qs {
		if seen[q.text] {
			continue
		}
		var lines []string
		for i := range ps {
			if g := q.in.grade(&ps[i]); g > 0 {
				lines = append(lines, fmt.Sprintf("%s\t%s\t%d\t%s", q.text, ps[i].ID, g, q.kind))
			}
		}
		if len(lines) == 0 {
			continue
		}
		seen[q.text] = true
		n++
		for _, l := range lines {
			fmt.Fprintln(w, l)
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return 0, err
	}
	return n, f.Close()
}

func buildQueries(r *rng, ps []product) []labelled {
	var out []labelled
	add := func(kind, text string, in intent) { out = append(out, labelled{text, kind, in}) }

	// plain: the category word.
	names := map[string]bool{}
	for _, l := range leaves {
		if !names[l.name] {
			names[l.name] = true
			add("plain", l.name, leafIntent(l.name))
		}
	}
	// synonyms: another word for the category.
	for _, s := range [][]string{
		{"裙子", "连衣裙", "半身裙"}, {"短袖", "T恤"}, {"跑鞋", "跑步鞋"}, {"唇膏", "口红"},
		{"尿不湿", "纸尿裤"}, {"移动电源", "充电宝"}, {"笔记本", "笔记本电脑"}, {"拉杆箱", "行李箱"},
		{"泡面", "方便面"}, {"背包", "双肩包"}, {"电吹风", "吹风机"}, {"衬衣", "衬衫"},
		{"洁面乳", "洗面奶"}, {"防晒乳", "防晒霜"}, {"纸巾", "抽纸"}, {"床品", "四件套"},
		{"智能手机", "手机"}, {"平板", "平板电脑"}, {"无线耳机", "耳机"}, {"外套", "男装/夹克"},
		{"乳霜", "面霜"}, {"婴儿推车", "婴儿车"}, {"鞋子", "运动鞋", "跑步鞋", "板鞋", "帆布鞋", "马丁靴"},
		{"电动刷牙", "电动牙刷"}, {"保温壶", "保温杯"}, {"枕芯", "枕头"}, {"配方奶粉", "奶粉"},
		{"风干牛肉", "牛肉干"}, {"纯牛奶", "牛奶"}, {"干果", "坚果"},
	} {
		add("synonym", s[0], leafIntent(s[1:]...))
	}
	apple := leafIntent("手机")
	apple.brand = "苹果/Apple"
	add("synonym", "苹果手机", apple)

	// brand + category, either name of a dual brand.
	for i := 0; i < 32; i++ {
		p := &ps[r.IntN(len(ps))]
		if p.Brand == "无品牌" {
			i--
			continue
		}
		names := strings.Split(p.Brand, "/")
		name := r.pick(names)
		if r.IntN(3) == 0 {
			name = strings.ToLower(name)
		}
		sep := ""
		if r.IntN(2) == 0 || !hasHan(name) {
			sep = " "
		}
		in := leafIntent(p.leaf.name)
		in.brand = p.Brand
		add("brand_category", name+sep+p.leaf.name, in)
	}
	// attributes: a value and the category word.
	for i := 0; i < 34; i++ {
		p := &ps[r.IntN(len(ps))]
		k, v := attrPick(r, p, []string{"型号", "颜色", "材质", "功效", "口味", "适用肤质", "存储容量", "段位", "尺码", "容量", "功能", "产地", "质地"})
		if k == "" {
			i--
			continue
		}
		in := leafIntent(p.leaf.name)
		in.attrs = [][2]string{{k, v}}
		add("attribute", v+" "+p.leaf.name, in)
	}
	// run-together: brand/attribute words and the category, no spaces.
	for i := 0; i < 30; i++ {
		p := &ps[r.IntN(len(ps))]
		in := leafIntent(p.leaf.name)
		text := ""
		if p.Brand != "无品牌" && r.IntN(2) == 0 {
			in.brand = p.Brand
			text = strings.Split(p.Brand, "/")[0]
		}
		k, v := attrPick(r, p, []string{"颜色", "材质", "功效", "口味", "风格", "季节", "存储容量"})
		if k == "" {
			i--
			continue
		}
		in.attrs = [][2]string{{k, v}}
		text += v + p.leaf.name
		if p.leaf.top == "女装" && r.IntN(2) == 0 {
			text += "女"
			in.leaves = map[string]int{p.Category: 3}
		}
		add("runtogether", text, in)
	}
	// pinyin: full and initials of category words and brand+category.
	args := pinyin.NewArgs()
	py := func(s string) (full, ini string) {
		for _, syl := range pinyin.LazyPinyin(s, args) {
			full += strings.ReplaceAll(syl, "ü", "v")
			ini += syl[:1]
		}
		return
	}
	for i, l := range leaves {
		full, ini := py(l.name)
		if full == "" || !names[l.name] {
			continue
		}
		names[l.name] = false // once per word
		if i%3 != 2 || len([]rune(l.name)) >= 3 {
			add("pinyin_initials", ini, leafIntent(l.name))
		}
		add("pinyin_full", full, leafIntent(l.name))
	}
	for i := 0; i < 8; i++ {
		p := &ps[r.IntN(len(ps))]
		cn := strings.Split(p.Brand, "/")[0]
		if !hasHan(cn) || p.Brand == "无品牌" {
			i--
			continue
		}
		full, _ := py(cn + p.leaf.name)
		in := leafIntent(p.leaf.name)
		in.brand = p.Brand
		add("pinyin_full", full, in)
	}
	// typos: Latin brand/model names with one slip, Han words with a
	// same-sounding character.
	for _, t := range []struct{ word, brand, leaf string }{
		{"nike", "耐克/Nike", ""}, {"adidas", "阿迪达斯/Adidas", ""}, {"huawei", "华为/HUAWEI", ""},
		{"xiaomi", "小米/Xiaomi", ""}, {"samsung", "三星/Samsung", ""}, {"lenovo", "联想/Lenovo", ""},
		{"dyson", "戴森/Dyson", ""}, {"philips", "飞利浦/Philips", ""}, {"converse", "匡威/Converse", ""},
		{"skechers", "斯凯奇/Skechers", ""}, {"uniqlo", "优衣库/UNIQLO", ""}, {"lancome", "兰蔻/Lancome", ""},
		{"iphone", "苹果/Apple", "手机"}, {"macbook", "苹果/Apple", "笔记本电脑"}, {"ipad", "苹果/Apple", "平板电脑"},
		{"airpods", "苹果/Apple", "耳机"}, {"samsonite", "新秀丽/Samsonite", ""}, {"thermos", "膳魔师/THERMOS", ""},
	} {
		in := intent{brand: t.brand}
		if t.leaf != "" {
			in = leafIntent(t.leaf)
			in.brand = t.brand
		}
		add("typo", latinTypo(r, t.word), in)
	}
	for _, t := range [][3]string{
		{"连衣裙", "裙", "群"}, {"口红", "红", "洪"}, {"充电宝", "宝", "包"}, {"面膜", "膜", "摸"},
		{"纸尿裤", "裤", "库"}, {"运动鞋", "鞋", "协"}, {"防晒霜", "霜", "双"}, {"保温杯", "杯", "背"},
		{"奶粉", "粉", "分"}, {"行李箱", "箱", "香"}, {"空气炸锅", "锅", "果"}, {"扫地机器人", "器", "气"},
	} {
		add("typo", strings.Replace(t[0], t[1], t[2], 1), leafIntent(t[0]))
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].kind < out[j].kind })
	return out
}

// attrPick picks one of the product's values for the first available key
// in a random order of keys.
func attrPick(r *rng, p *product, keys []string) (string, string) {
	for _, i := range r.Perm(len(keys)) {
		switch v := p.Attrs[keys[i]].(type) {
		case string:
			return keys[i], v
		case []string:
			if len(v) > 0 {
				return keys[i], r.pick(v)
			}
		}
	}
	return "", ""
}

// latinTypo makes one realistic slip: swap, drop, double or replace a letter.
func latinTypo(r *rng, w string) string {
	b := []byte(w)
	i := 1 + r.IntN(len(b)-2)
	switch r.IntN(4) {
	case 0:
		b[i], b[i+1] = b[i+1], b[i]
	case 1:
		b = append(b[:i], b[i+1:]...)
	case 2:
		b = append(b[:i+1], b[i:]...)
	default:
		near := map[byte]string{'a': "s", 'e': "r", 'i': "o", 'o': "i", 'u': "y", 'n': "m", 'm': "n", 's': "a", 'r': "e", 'h': "j", 'c': "x", 'd': "f", 'k': "l", 'l': "k", 'p': "o", 'y': "u", 'g': "h", 'b': "v", 'v': "b", 'x': "c", 'w': "q", 't': "r"}
		if s, ok := near[b[i]]; ok {
			b[i] = s[0]
		} else {
			b[i], b[i+1] = b[i+1], b[i]
		}
	}
	return string(b)
}

func hasHan(s string) bool {
	for _, r := range s {
		if r >= 0x4e00 && r <= 0x9fff {
			return true
		}
	}
	return false
}
