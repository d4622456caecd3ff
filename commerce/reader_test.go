package commerce

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tide-live/tide/commerce/democatalog"
)

// readAll returns the valid products and the rejected lines of src.
func readAll(t *testing.T, src string, opts ...ReaderOption) ([]Product, []*LineError) {
	t.Helper()
	r, err := NewReader(strings.NewReader(src), opts...)
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	var (
		ps   []Product
		bads []*LineError
	)
	for {
		p, err := r.Next()
		var le *LineError
		switch {
		case err == io.EOF:
			return ps, bads
		case errors.As(err, &le):
			bads = append(bads, le)
		case err != nil:
			t.Fatalf("Next: %v", err)
		default:
			ps = append(ps, p)
		}
	}
}

func TestReadJSONLines(t *testing.T) {
	src := `{"id":"p00001","merchant_id":"m01","title":" 法式碎花连衣裙 ","brand":"无品牌","category":"女装 / 连衣裙","price_fen":29900,"sales":1234,"description":"夏季新款","attrs":{"颜色":["黑色","白色","黑色"],"尺码":"M","容量":64}}

{"id":"p00002","merchant_id":"m02","title":"Air Max 270","brand":"耐克/Nike","category":"运动鞋/跑步鞋","price_fen":89900,"images":["https://img.example/1.jpg"],"status":"OFF"}
`
	ps, bads := readAll(t, src)
	if len(bads) != 0 {
		t.Fatalf("rejected %v", bads)
	}
	if len(ps) != 2 {
		t.Fatalf("got %d products, want 2", len(ps))
	}
	p := ps[0]
	if p.Title != "法式碎花连衣裙" || p.Category != "女装/连衣裙" || p.PriceFen != 29900 || p.Sales != 1234 || p.Status != OnShelf {
		t.Errorf("p00001 = %+v", p)
	}
	wantAttrs := Attrs{"颜色": {"黑色", "白色"}, "尺码": {"M"}, "容量": {"64"}}
	if !reflect.DeepEqual(p.Attrs, wantAttrs) {
		t.Errorf("attrs = %v, want %v", p.Attrs, wantAttrs)
	}
	if got := ps[1].BrandNames(); !reflect.DeepEqual(got, []string{"耐克", "Nike"}) {
		t.Errorf("brand names = %v", got)
	}
	if ps[1].Status != OffShelf || len(ps[1].Images) != 1 {
		t.Errorf("p00002 = %+v", ps[1])
	}
	if len(p.BrandNames()) != 0 {
		t.Errorf("无品牌 has brand names %v", p.BrandNames())
	}
}

func TestReadJSONLinesRejects(t *testing.T) {
	long := strings.Repeat("长", 201)
	lines := []struct {
		line, want string
	}{
		{`{"merchant_id":"m01","title":"x","price_fen":1}`, "id: missing"},
		{`{"id":"p2","merchant_id":"m01","price_fen":1}`, "title: missing"},
		{`{"id":"p3","merchant_id":"m01","title":"x","price_fen":-5}`, "price_fen: -5 is negative"},
		{`{"id":"p4","merchant_id":"m01","title":"x","price_fen":29.9}`, "not a whole number"},
		{`{"id":"p5","merchant_id":"m01","title":"x","price_fen":"abc"}`, "not a number"},
		{`{"id":"p6","merchant_id":"m01","title":"x"}`, "price_fen: missing"},
		{`{"id":"p7","merchant_id":"m01","title":"x","price_fen":1,"sales":-1}`, "sales: -1 is negative"},
		{`{"id":"p8","merchant_id":"m01","title":"x","price_fen":1,"tittle":"y"}`, `unknown field "tittle"`},
		{"{\"id\":\"p9\",\"merchant_id\":\"m01\",\"title\":\"\xff\xfe\",\"price_fen\":1}", "not valid UTF-8"},
		{`{"id":"p10","merchant_id":"m01","title":"` + long + `","price_fen":1}`, "title: 201 characters"},
		{`{"id":"p11","merchant_id":"m01","title":"x","price_fen":1,"attrs":{"颜色":{"a":1}}}`, "neither a string nor a list"},
		{`{"id":"p12","merchant_id":"m01","title":"x","price_fen":1`, "truncated"},
		{`not json at all`, "not valid JSON"},
		{`{"id":"p14","merchant_id":"m01","title":123,"price_fen":1}`, "title: number where a string was expected"},
		{`{"id":"p 15","merchant_id":"m01","title":"x","price_fen":1}`, "id:"},
		{`{"id":"p16","merchant_id":"m01","title":"x","price_fen":1,"status":"maybe"}`, "status:"},
		{`{"id":"p17","merchant_id":"m01","title":"x","price_fen":1} {"id":"p18"}`, "more than one JSON value"},
	}
	var src strings.Builder
	for _, l := range lines {
		src.WriteString(l.line + "\n")
	}
	src.WriteString(`{"id":"ok","merchant_id":"m01","title":"fine","price_fen":100}` + "\n")
	ps, bads := readAll(t, src.String())
	if len(ps) != 1 || ps[0].ID != "ok" {
		t.Errorf("valid products = %v, want just ok", ps)
	}
	if len(bads) != len(lines) {
		t.Fatalf("%d rejects, want %d: %v", len(bads), len(lines), bads)
	}
	for i, b := range bads {
		if b.Line != i+1 {
			t.Errorf("reject %d has line %d, want %d", i, b.Line, i+1)
		}
		if !strings.Contains(b.Error(), lines[i].want) {
			t.Errorf("line %d: %q does not say %q", b.Line, b.Error(), lines[i].want)
		}
	}
	if bads[3].ID != "p4" {
		t.Errorf("reject of line 4 names id %q, want p4", bads[3].ID)
	}
	var fe *FieldError
	if !errors.As(bads[2], &fe) || fe.Field != "price_fen" {
		t.Errorf("negative price is not a price_fen FieldError: %v", bads[2])
	}
}

func TestReadOverlongLineIsRejectedAndSkipped(t *testing.T) {
	src := `{"id":"a","merchant_id":"m","title":"` + strings.Repeat("x", 300) + `","price_fen":1}` + "\n" +
		`{"id":"b","merchant_id":"m","title":"short","price_fen":1}` + "\n"
	ps, bads := readAll(t, src, MaxLineBytes(100))
	if len(ps) != 1 || ps[0].ID != "b" {
		t.Errorf("products = %v, want b", ps)
	}
	if len(bads) != 1 || bads[0].Line != 1 || !strings.Contains(bads[0].Error(), "longer than 100 bytes") {
		t.Errorf("rejects = %v", bads)
	}
}

func TestReadIgnoreUnknownFields(t *testing.T) {
	ps, bads := readAll(t, `{"id":"a","merchant_id":"m","title":"t","price_fen":1,"live_now":true}`, IgnoreUnknownFields())
	if len(ps) != 1 || len(bads) != 0 {
		t.Errorf("products %v rejects %v", ps, bads)
	}
}

func TestReadWithMerchant(t *testing.T) {
	src := `{"id":"a","title":"t","price_fen":1}
{"id":"b","merchant_id":"m01","title":"t","price_fen":1}
{"id":"c","merchant_id":"m02","title":"t","price_fen":1}`
	ps, bads := readAll(t, src, WithMerchant("m01"))
	if len(ps) != 2 || ps[0].MerchantID != "m01" || ps[1].MerchantID != "m01" {
		t.Errorf("products = %+v", ps)
	}
	if len(bads) != 1 || bads[0].Line != 3 || !strings.Contains(bads[0].Error(), "not the import's merchant") {
		t.Errorf("rejects = %v", bads)
	}
	_, bads = readAll(t, `{"id":"a","title":"t","price_fen":1}`)
	if len(bads) != 1 || !strings.Contains(bads[0].Error(), "merchant_id: missing") {
		t.Errorf("without WithMerchant, rejects = %v", bads)
	}
}

func TestContentHash(t *testing.T) {
	a := Product{ID: "p", MerchantID: "m", Title: "t", PriceFen: 1, Attrs: Attrs{"颜色": {"黑", "白"}, "尺码": {"M"}}}
	b := a
	b.Attrs = Attrs{"尺码": {"M"}, "颜色": {"黑", "白"}}
	if a.ContentHash() != b.ContentHash() {
		t.Error("hash depends on map order")
	}
	for name, change := range map[string]func(*Product){
		"title":      func(p *Product) { p.Title = "u" },
		"price":      func(p *Product) { p.PriceFen = 2 },
		"sales":      func(p *Product) { p.Sales = 1 },
		"status":     func(p *Product) { p.Status = OffShelf },
		"attr order": func(p *Product) { p.Attrs = Attrs{"颜色": {"白", "黑"}, "尺码": {"M"}} },
		"field swap": func(p *Product) { p.Title, p.Brand = "", "t" },
	} {
		c := a
		change(&c)
		if c.ContentHash() == a.ContentHash() {
			t.Errorf("changing %s keeps the hash", name)
		}
	}
}

func TestFormatDetection(t *testing.T) {
	for name, want := range map[string]Format{"a.jsonl": FormatJSONL, "a.NDJSON": FormatJSONL, "b.csv": FormatCSV, "c.txt": FormatAuto, "-": FormatAuto} {
		if got := FormatForName(name); got != want {
			t.Errorf("FormatForName(%q) = %v, want %v", name, got, want)
		}
	}
	for src, want := range map[string]Format{
		"\n  {\"id\":1}": FormatJSONL,
		"\xef\xbb\xbfid,title,price_fen,merchant_id\n": FormatCSV,
		"": FormatJSONL,
	} {
		r, err := NewReader(strings.NewReader(src))
		if err != nil {
			t.Fatalf("NewReader(%q): %v", src, err)
		}
		if r.Format() != want {
			t.Errorf("format of %q = %v, want %v", src, r.Format(), want)
		}
	}
}

func TestReadListedAtAndLiveNow(t *testing.T) {
	src := `{"id":"a","merchant_id":"m","title":"t","price_fen":1,"listed_at":"2025-01-11T22:00:00+08:00","live_now":true}
{"id":"b","merchant_id":"m","title":"t","price_fen":1,"listed_at":"yesterday"}`
	ps, bads := readAll(t, src)
	if len(ps) != 1 || ps[0].ListedAt.Format(time.RFC3339) != "2025-01-11T14:00:00Z" {
		t.Errorf("products %+v", ps)
	}
	if len(bads) != 1 || bads[0].Line != 2 || !strings.Contains(bads[0].Error(), "listed_at") {
		t.Errorf("rejects %v", bads)
	}
}

func TestReadDemoCatalog(t *testing.T) {
	r, err := NewReader(democatalog.Open())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		_, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("demo catalog: %v", err)
		}
		n++
	}
	if n < 1000 {
		t.Errorf("demo catalog has %d products", n)
	}
}
