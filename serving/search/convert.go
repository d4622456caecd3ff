package search

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"

	tidev1 "github.com/tide-live/tide/proto/tide/v1"
	"github.com/tide-live/tide/search"
)

var sorts = map[tidev1.SearchSort]search.Sort{
	tidev1.SearchSort_SEARCH_SORT_UNSPECIFIED: search.SortRelevance,
	tidev1.SearchSort_SEARCH_SORT_RELEVANCE:   search.SortRelevance,
	tidev1.SearchSort_SEARCH_SORT_SALES:       search.SortSales,
	tidev1.SearchSort_SEARCH_SORT_PRICE_ASC:   search.SortPriceAsc,
	tidev1.SearchSort_SEARCH_SORT_PRICE_DESC:  search.SortPriceDesc,
	tidev1.SearchSort_SEARCH_SORT_NEWEST:      search.SortNewest,
}

var relaxations = map[string]tidev1.SearchRelaxation{
	search.RelaxAnyWord:   tidev1.SearchRelaxation_SEARCH_RELAXATION_ANY_WORD,
	search.RelaxBackfill:  tidev1.SearchRelaxation_SEARCH_RELAXATION_BACKFILL,
	search.RelaxFuzzy:     tidev1.SearchRelaxation_SEARCH_RELAXATION_FUZZY,
	search.RelaxNoFilters: tidev1.SearchRelaxation_SEARCH_RELAXATION_FILTERS_DROPPED,
}

// searchRequest checks what the index does not (page size and token, sort)
// and builds the index request; the index checks the query and filters.
func searchRequest(m *tidev1.SearchRequest) (search.Request, error) {
	sort, ok := sorts[m.GetSort()]
	if !ok {
		return search.Request{}, fmt.Errorf("unknown sort %v", m.GetSort())
	}
	size := int(m.GetPageSize())
	switch {
	case size < 0 || size > search.MaxLimit:
		return search.Request{}, fmt.Errorf("page_size %d outside 0..%d", size, search.MaxLimit)
	case size == 0:
		size = search.DefaultLimit
	}
	offset := int(m.GetOffset())
	if offset < 0 {
		return search.Request{}, fmt.Errorf("offset %d is negative", offset)
	}
	if tok := m.GetPageToken(); tok != "" {
		if offset != 0 {
			return search.Request{}, errors.New("give page_token or offset, not both")
		}
		var err error
		if offset, err = readPageToken(tok, m); err != nil {
			return search.Request{}, err
		}
		size = min(size, search.MaxDepth-offset) // the last page a token leads to
	}
	if offset+size > search.MaxDepth {
		return search.Request{}, fmt.Errorf("results past %d are not served: offset %d + page_size %d", search.MaxDepth, offset, size)
	}
	f := m.GetFilters()
	return search.Request{
		Text: m.GetQuery(),
		Filters: search.Filters{
			CategoryPrefix: f.GetCategoryPrefix(),
			Brands:         f.GetBrands(),
			MinPriceFen:    f.GetMinPriceFen(),
			MaxPriceFen:    f.GetMaxPriceFen(),
			MerchantID:     f.GetMerchantId(),
			LiveOnly:       f.GetLiveNow(),
		},
		Sort:   sort,
		Offset: offset,
		Limit:  size,
		Facets: m.GetFacets(),
	}, nil
}

func searchResponse(requestID string, m *tidev1.SearchRequest, req search.Request, resp *search.Response) *tidev1.SearchResponse {
	out := &tidev1.SearchResponse{
		RequestId: requestID,
		Total:     int64(resp.Total),
		Words:     resp.Words,
		Hits:      make([]*tidev1.SearchHit, len(resp.Hits)),
	}
	for i, h := range resp.Hits {
		p := &h.Product
		out.Hits[i] = &tidev1.SearchHit{
			ProductId: p.ID, MerchantId: p.MerchantID, Title: p.Title, TitleHtml: h.TitleHTML,
			Brand: p.Brand, Category: p.Category, PriceFen: p.PriceFen, Sales: p.Sales,
			LiveNow: p.LiveNow, LiveRoomId: p.LiveRoomID, Score: h.Score, Position: int32(req.Offset + i),
		}
	}
	for _, r := range resp.Relaxed {
		if v, ok := relaxations[r]; ok {
			out.Relaxed = append(out.Relaxed, v)
		}
	}
	if f := resp.Facets; f != nil {
		out.Facets = &tidev1.SearchFacets{}
		for _, c := range f.Categories {
			out.Facets.Categories = append(out.Facets.Categories, &tidev1.SearchFacetCount{Value: c.Value, Count: int64(c.Count)})
		}
		for _, b := range f.Brands {
			out.Facets.Brands = append(out.Facets.Brands, &tidev1.SearchFacetCount{Value: b.Value, Count: int64(b.Count)})
		}
		for _, p := range f.Prices {
			out.Facets.Prices = append(out.Facets.Prices, &tidev1.SearchPriceBucket{Name: p.Name, MinFen: p.MinFen, MaxFen: p.MaxFen, Count: int64(p.Count)})
		}
	}
	if next := req.Offset + len(resp.Hits); len(resp.Hits) == req.Limit && uint64(next) < resp.Total && next < search.MaxDepth {
		out.NextPageToken = pageToken(next, m)
	}
	return out
}

// A page token is the offset of the next page and a fingerprint of the
// query it continues, so a token is not applied to another search.
const pageTokenVersion = 1

func pageToken(offset int, m *tidev1.SearchRequest) string {
	b := binary.AppendUvarint([]byte{pageTokenVersion}, uint64(offset))
	b = binary.BigEndian.AppendUint64(b, fingerprint(m))
	return base64.RawURLEncoding.EncodeToString(b)
}

func readPageToken(tok string, m *tidev1.SearchRequest) (int, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) < 1+1+8 || b[0] != pageTokenVersion {
		return 0, errors.New("page_token is malformed: pass next_page_token unchanged")
	}
	off, n := binary.Uvarint(b[1:])
	if n <= 0 || len(b) != 1+n+8 || off > search.MaxDepth {
		return 0, errors.New("page_token is malformed: pass next_page_token unchanged")
	}
	if binary.BigEndian.Uint64(b[1+n:]) != fingerprint(m) {
		return 0, errors.New("page_token belongs to another search: the query, filters or sort changed")
	}
	return int(off), nil
}

// fingerprint hashes what a page token must not outlive: query, filters
// and sort (not the page size).
func fingerprint(m *tidev1.SearchRequest) uint64 {
	h := fnv.New64a()
	f := m.GetFilters()
	sort := sorts[m.GetSort()] // unspecified and relevance are one order
	fmt.Fprintf(h, "%q|%q|%q|%d|%d|%q|%t|%q", strings.TrimSpace(m.GetQuery()), f.GetCategoryPrefix(),
		f.GetBrands(), f.GetMinPriceFen(), f.GetMaxPriceFen(), f.GetMerchantId(), f.GetLiveNow(), sort)
	return h.Sum64()
}
