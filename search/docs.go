package search

import (
	"strings"
)

// docTable holds, next to the Bleve index, what searches need of every
// product in columns indexed by an ordinal: filters, sorting and facets
// read these arrays for each match instead of Bleve doc values (which
// decompress a chunk of a thousand documents per field for every matched
// chunk), and the index holds no numeric or keyword fields for them.
//
// An id keeps its ordinal for the life of a generation (a deleted product's
// slot is empty until the id comes back). The table is guarded by the
// generation's pmu.
type docTable struct {
	ords     map[string]uint32
	prods    []*Product // nil: deleted
	price    []int64
	sales    []int64
	listed   []int64 // unix seconds; 0: unknown
	live     []bool
	merchant []uint32 // merchants.vals index; 0: none
	cat      []uint32 // cats.vals index of the full category path; 0: none
	brand    []uint32 // brands.vals index of the brand as written; 0: none
	count    int      // products present
	maxSales int64

	merchants, cats, brands interner
	// brandKeys[b] are the lower-cased names a brand filter matches brand
	// b by (无品牌 for the unbranded).
	brandKeys [][]string
}

// interner maps strings to small integers; 0 is the empty string.
type interner struct {
	ids  map[string]uint32
	vals []string
}

func (in *interner) id(s string) (uint32, bool) {
	if in.ids == nil {
		in.ids = map[string]uint32{"": 0}
		in.vals = []string{""}
	}
	if id, ok := in.ids[s]; ok {
		return id, false
	}
	id := uint32(len(in.vals))
	in.ids[s] = id
	in.vals = append(in.vals, s)
	return id, true
}

func (in *interner) lookup(s string) (uint32, bool) {
	id, ok := in.ids[s]
	return id, ok
}

func newDocTable(capacity int) *docTable {
	t := &docTable{ords: make(map[string]uint32, capacity)}
	t.merchants.id("")
	t.cats.id("")
	t.brands.id("")
	t.brandKeys = [][]string{nil}
	return t
}

// put adds or replaces a product.
func (t *docTable) put(p *Product) {
	ord, ok := t.ords[p.ID]
	if !ok {
		ord = uint32(len(t.prods))
		t.ords[p.ID] = ord
		t.prods = append(t.prods, nil)
		t.price = append(t.price, 0)
		t.sales = append(t.sales, 0)
		t.listed = append(t.listed, 0)
		t.live = append(t.live, false)
		t.merchant = append(t.merchant, 0)
		t.cat = append(t.cat, 0)
		t.brand = append(t.brand, 0)
	}
	if t.prods[ord] == nil {
		t.count++
	}
	t.prods[ord] = p
	t.price[ord] = p.PriceFen
	t.sales[ord] = p.Sales
	t.listed[ord] = 0
	if !p.ListedAt.IsZero() {
		t.listed[ord] = p.ListedAt.Unix()
	}
	t.live[ord] = p.LiveNow
	t.merchant[ord], _ = t.merchants.id(p.MerchantID)
	t.cat[ord], _ = t.cats.id(strings.Join(p.CategoryLevels(), "/"))
	b, added := t.brands.id(strings.TrimSpace(p.Brand))
	if added {
		t.brandKeys = append(t.brandKeys, brandFilterKeys(p.Brand))
	}
	t.brand[ord] = b
	t.maxSales = max(t.maxSales, p.Sales)
}

// brandFilterKeys are the names a brand filter value must equal (after
// normalize) to match a product of this brand.
func brandFilterKeys(brand string) []string {
	names := brandNames(brand)
	keys := make([]string, 0, len(names))
	for _, n := range names {
		keys = append(keys, normalize(n))
	}
	if len(names) == 0 && strings.TrimSpace(brand) == Unbranded {
		keys = append(keys, Unbranded)
	}
	return keys
}

// remove deletes a product; unknown ids are ignored.
func (t *docTable) remove(id string) {
	if ord, ok := t.ords[id]; ok && t.prods[ord] != nil {
		t.prods[ord] = nil
		t.count--
	}
}

// get returns the product with this id, or nil.
func (t *docTable) get(id string) *Product {
	if ord, ok := t.ords[id]; ok {
		return t.prods[ord]
	}
	return nil
}

// docFilter is a request's filters compiled against the table: a check per
// match that reads only columns.
type docFilter struct {
	none     bool // a filter value nothing can match (an unknown merchant)
	merchant uint32
	cats     []bool // by cat id; nil: any
	brands   []bool // by brand id; nil: any
	min, max int64  // inclusive; 0: unbounded
	live     bool
}

// compileFilter prepares f (merchantOnly: only the merchant scope).
func (t *docTable) compileFilter(f Filters, merchantOnly bool) docFilter {
	var df docFilter
	if f.MerchantID != "" {
		id, ok := t.merchants.lookup(f.MerchantID)
		if !ok {
			df.none = true
		}
		df.merchant = id
	}
	if merchantOnly {
		return df
	}
	if p := f.CategoryPrefix; p != "" {
		df.cats = make([]bool, len(t.cats.vals))
		for id, path := range t.cats.vals {
			df.cats[id] = path != "" && (path == p || strings.HasPrefix(path, p+"/"))
		}
	}
	if len(f.Brands) > 0 {
		want := map[string]bool{}
		for _, b := range f.Brands {
			for _, n := range brandNames(b) {
				want[normalize(n)] = true
			}
			if b == Unbranded {
				want[Unbranded] = true
			}
		}
		df.brands = make([]bool, len(t.brands.vals))
		for id, keys := range t.brandKeys {
			for _, k := range keys {
				if want[k] {
					df.brands[id] = true
				}
			}
		}
	}
	df.min, df.max, df.live = f.MinPriceFen, f.MaxPriceFen, f.LiveOnly
	return df
}

// match reports whether the product at ord passes the filter.
func (t *docTable) match(df *docFilter, ord uint32) bool {
	switch {
	case df.none:
		return false
	case df.merchant != 0 && t.merchant[ord] != df.merchant:
		return false
	case df.cats != nil && !df.cats[t.cat[ord]]:
		return false
	case df.brands != nil && !df.brands[t.brand[ord]]:
		return false
	case df.min > 0 && t.price[ord] < df.min:
		return false
	case df.max > 0 && t.price[ord] > df.max:
		return false
	case df.live && !t.live[ord]:
		return false
	}
	return true
}
