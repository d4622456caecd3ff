// Package democatalog ships the demo product catalog: about two thousand
// realistic Chinese live-commerce products across clothing, shoes, bags,
// beauty, skincare, electronics, appliances, food, baby and home goods, with
// dual-name brands (耐克/Nike, 苹果/Apple, 华为/HUAWEI), unbranded items
// (无品牌) and attribute lists. It is generated deterministically by
// ./gen and committed; `tide demo` and the search evaluation load it.
//
// Regenerate with:
//
//	go run ./commerce/democatalog/gen -out commerce/democatalog/catalog.jsonl \
//	    -queries search/testdata/queries.tsv
package democatalog

import (
	"bytes"
	_ "embed"
	"io"
)

//go:embed catalog.jsonl
var catalog []byte

// JSONL returns the catalog as JSON Lines, one product per line in the
// shape {"id","merchant_id","title","brand","category","price_fen","sales",
// "description","attrs","live_now","listed_at"}. attrs values are strings or
// lists of strings.
func JSONL() []byte { return bytes.Clone(catalog) }

// Open returns a reader over the catalog's JSON Lines.
func Open() io.Reader { return bytes.NewReader(catalog) }
