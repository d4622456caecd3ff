// Package search is the product index: Chinese word segmentation (gse,
// with a user dictionary built from the catalog), pinyin and pinyin
// initials, synonyms and typo tolerance, over Bleve's scorch index.
//
// Bleve holds only what text matching needs: nine unstored text fields, no
// numeric or keyword fields, no doc values, no _all field, each analysed by
// this package straight into term frequencies. Everything else a search
// reads — filters (merchant, category prefix, brand, price, live), the sort
// orders, the facet counts and the products of the hits — comes from a
// docTable of Go columns indexed by an ordinal, one per product id; a
// match's ordinal is found by arithmetic on its segment and local document
// number (ordCache). A change that leaves a product's text alone (price,
// sales, live room) touches only the table.
//
// A build analyses and indexes batches on every core, then merges the
// segments into one. An Index serves searches from its current generation
// while Upsert/Delete keep it fresh in near-real-time batches and Rebuild
// swaps a new generation in.
package search
