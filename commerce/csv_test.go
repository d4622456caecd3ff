package commerce

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestReadCSV(t *testing.T) {
	src := "\xef\xbb\xbfid,merchant_id,title,brand,category,price_fen,sales,attr:颜色,attr:尺码,images,description\n" +
		"p1,m01,法式碎花连衣裙,无品牌,女装/连衣裙,29900,1234,黑色|白色,M,https://i/1.jpg|https://i/2.jpg,\"夏季, 新款\n两行\"\n" +
		"p2,m01,Air Max,耐克/Nike,运动鞋,89900,,,,,\n" +
		"\n" +
		"p3,m01,坏价格,,,29.9,,,,,\n" +
		"p4,m01,少一列,,,100,,,\n" +
		"p5,m01,负销量,,,100,-3,,,,\n" +
		",m01,没有id,,,100,,,,,\n" +
		"p7,m01,\xff坏,,,100,,,,,\n" +
		"p8,m01,好的,,,100,7,红,,,\n"
	ps, bads := readAll(t, src)
	ids := []string{}
	for _, p := range ps {
		ids = append(ids, p.ID)
	}
	if !reflect.DeepEqual(ids, []string{"p1", "p2", "p8"}) {
		t.Fatalf("products %v, want p1 p2 p8", ids)
	}
	p1 := ps[0]
	if !reflect.DeepEqual(p1.Attrs, Attrs{"颜色": {"黑色", "白色"}, "尺码": {"M"}}) {
		t.Errorf("p1 attrs = %v", p1.Attrs)
	}
	if len(p1.Images) != 2 || p1.Description != "夏季, 新款\n两行" || p1.Sales != 1234 {
		t.Errorf("p1 = %+v", p1)
	}
	if ps[1].Sales != 0 || ps[1].Attrs != nil {
		t.Errorf("p2 = %+v", ps[1])
	}
	want := []struct {
		line int
		says string
	}{
		{6, "not a whole number"}, {7, "9 columns, the header has 11"}, {8, "sales: -3 is negative"},
		{9, "id: missing"}, {10, "not valid UTF-8"},
	}
	if len(bads) != len(want) {
		t.Fatalf("rejects %v, want %d", bads, len(want))
	}
	for i, w := range want {
		if bads[i].Line != w.line || !strings.Contains(bads[i].Error(), w.says) {
			t.Errorf("reject %d = %q, want line %d saying %q", i, bads[i].Error(), w.line, w.says)
		}
	}
}

func TestReadCSVAttrsJSONColumn(t *testing.T) {
	src := "id,merchant_id,title,price_fen,attrs,status\n" +
		`p1,m01,T恤,4900,"{""颜色"":[""黑"",""白""],""尺码"":""L""}",off` + "\n" +
		`p2,m01,T恤,4900,"{""颜色"":{""x"":1}}",` + "\n"
	ps, bads := readAll(t, src)
	if len(ps) != 1 || !reflect.DeepEqual(ps[0].Attrs, Attrs{"颜色": {"黑", "白"}, "尺码": {"L"}}) || ps[0].Status != OffShelf {
		t.Errorf("products = %+v", ps)
	}
	if len(bads) != 1 || bads[0].Line != 3 || !strings.Contains(bads[0].Error(), "attrs") {
		t.Errorf("rejects = %v", bads)
	}
}

func TestReadCSVBadHeader(t *testing.T) {
	for src, says := range map[string]string{
		"id,title\n": `no "price_fen" column`,
		"id,title,price_fen,merchant_id,tittle\n": `unknown column "tittle"`,
		"id,title,price_fen,merchant_id,id\n":     `"id" appears twice`,
		"id,title,price_fen\n":                    `no "merchant_id" column`,
	} {
		_, err := NewReader(strings.NewReader(src), WithFormat(FormatCSV))
		if !errors.Is(err, ErrBadHeader) || !strings.Contains(err.Error(), says) {
			t.Errorf("header %q: err = %v, want ErrBadHeader saying %s", src, err, says)
		}
	}
	if _, err := NewReader(strings.NewReader("id,title,price_fen\n"), WithMerchant("m01")); err != nil {
		t.Errorf("merchant from the option: %v", err)
	}
}
