package search

import "errors"

// Sentinel errors. Returned errors wrap one of these with a message that
// says what was wrong; check them with errors.Is.
var (
	// ErrInvalidQuery marks a request the caller must fix: empty or
	// over-long text, a bad filter, sort or page.
	ErrInvalidQuery = errors.New("invalid search query")
	// ErrInvalidProduct marks a product that cannot be indexed.
	ErrInvalidProduct = errors.New("invalid product")
	// ErrClosed is returned by an Index after Close.
	ErrClosed = errors.New("search index closed")
)
