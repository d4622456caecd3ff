package commerce

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// WriteResult counts what a ProductWriter did with one batch.
type WriteResult struct {
	Created   int // new products
	Updated   int // products whose content changed
	Unchanged int // products already stored exactly so (same ContentHash)
}

// ProductWriter stores a batch of valid products atomically: all of them or
// none. commerce/postgres.Store is one; it also records a product-changed
// event for every created or updated product in the same transaction.
type ProductWriter interface {
	WriteProducts(ctx context.Context, ps []Product) (WriteResult, error)
}

// Summary is the outcome of an import.
type Summary struct {
	Created   int
	Updated   int
	Unchanged int
	Rejected  int
	// FirstRejects holds up to 100 rejected lines; every one goes to OnReject.
	FirstRejects []*LineError
	Elapsed      time.Duration
}

// Accepted is the number of valid products written.
func (s Summary) Accepted() int { return s.Created + s.Updated + s.Unchanged }

func (s Summary) String() string {
	return fmt.Sprintf("%d created, %d updated, %d unchanged, %d rejected in %s",
		s.Created, s.Updated, s.Unchanged, s.Rejected, s.Elapsed.Round(time.Millisecond))
}

// ImportOption configures Import.
type ImportOption func(*importer)

// BatchSize sets how many products go to the writer at once (one
// transaction each); the default is 500.
func BatchSize(n int) ImportOption {
	return func(im *importer) {
		if n > 0 {
			im.batch = n
		}
	}
}

// OnReject is called for every rejected line, in file order.
func OnReject(f func(*LineError)) ImportOption { return func(im *importer) { im.onReject = f } }

// OnProgress is called after every batch with the totals so far.
func OnProgress(f func(Summary)) ImportOption { return func(im *importer) { im.onProgress = f } }

type importer struct {
	batch      int
	onReject   func(*LineError)
	onProgress func(Summary)
}

// Import reads every product from r and writes the valid ones to w in
// batches; reading the next batch overlaps writing the last. Rejected lines
// are counted, reported to OnReject (on the reading goroutine, in file
// order) and skipped.
// Within one file a product id seen again replaces the earlier line. The
// error is non-nil only when reading or writing failed; the summary then
// counts what was written before.
func Import(ctx context.Context, r *Reader, w ProductWriter, opts ...ImportOption) (Summary, error) {
	im := importer{batch: 500}
	for _, o := range opts {
		o(&im)
	}
	start := time.Now()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// The file is read and validated on one goroutine while the previous
	// batch is being written, so parsing and the database overlap.
	type batchMsg struct {
		products []Product
		rejected int // rejected lines so far
	}
	batches := make(chan batchMsg, 1)
	var (
		rejected     int
		firstRejects []*LineError
		readErr      error
	)
	go func() {
		defer close(batches)
		batch := make([]Product, 0, im.batch)
		inBatch := make(map[string]int, im.batch)
		send := func() bool {
			if len(batch) == 0 {
				return true
			}
			select {
			case batches <- batchMsg{batch, rejected}:
			case <-ctx.Done():
				return false
			}
			batch = make([]Product, 0, im.batch)
			clear(inBatch)
			return true
		}
		for {
			if readErr = ctx.Err(); readErr != nil {
				return
			}
			p, err := r.Next()
			var le *LineError
			switch {
			case errors.As(err, &le):
				rejected++
				if len(firstRejects) < 100 {
					firstRejects = append(firstRejects, le)
				}
				if im.onReject != nil {
					im.onReject(le)
				}
				continue
			case err == io.EOF:
				send()
				return
			case err != nil:
				readErr = err
				return
			}
			if i, dup := inBatch[p.ID]; dup {
				batch[i] = p // a later line for the same id wins; one write per id and batch
				continue
			}
			inBatch[p.ID] = len(batch)
			batch = append(batch, p)
			if len(batch) >= im.batch && !send() {
				return
			}
		}
	}()

	var (
		sum      Summary
		writeErr error
	)
	for b := range batches {
		if writeErr != nil {
			continue // drain until the reader sees the cancellation
		}
		res, err := w.WriteProducts(ctx, b.products)
		if err != nil {
			writeErr = fmt.Errorf("write %d products: %w", len(b.products), err)
			cancel()
			continue
		}
		sum.Created += res.Created
		sum.Updated += res.Updated
		sum.Unchanged += res.Unchanged
		if im.onProgress != nil {
			sum.Rejected = b.rejected
			sum.Elapsed = time.Since(start)
			im.onProgress(sum)
		}
	}
	// The reader has returned: its results are ours now.
	sum.Rejected, sum.FirstRejects = rejected, firstRejects
	sum.Elapsed = time.Since(start)
	if writeErr != nil {
		return sum, writeErr
	}
	return sum, readErr
}
