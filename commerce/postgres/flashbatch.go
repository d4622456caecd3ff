package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tide-live/tide/commerce"
	"github.com/tide-live/tide/commerce/order"
)

// Group commit of flash-sale orders. Every submit of one hot sale wants the
// same row; one at a time, each pays a whole transaction (its statements,
// the hot row's lock, the commit) for one unit. A flashQueue collects the
// submits of one sale that arrive while its previous batch is being written
// and writes them as ONE transaction: one conditional decrement of the
// sale's remaining allotment by the batch's units, and multi-row INSERTs of
// the buyers' counts, the holds, the orders with their lines, transitions
// and timers, and their events. Each caller is answered only after that
// commit, so an acknowledged order is never lost; a crash loses only
// requests not yet answered.
//
// There is no timer: a queue with nothing in flight writes a lone submit at
// once (no added latency when the sale is quiet); submits that arrive while
// a batch is being written wait for its commit and form the next batch, so
// batches grow by themselves with the load, up to maxFlashBatch. Only a
// deep queue (flashFill) puts another batch in flight beside it.

// flashWorkers bounds the batches of one sale in flight at once (a deep
// queue's, see flashFill), so that more than one PostgreSQL backend has
// work while a batch commits. On the 2-core bench machine 4 did better
// than 1, 2 or 8 (bench/flashsale, measured before flashFill, when every
// free worker wrote what waited); with flashFill, 32 buyers keep two in
// flight.
const flashWorkers = 4

// flashFill is how many submits must be waiting before a batch is written
// beside one already in flight. Below it they wait for the batch in flight
// to commit and go out together in the next one (group commit): each
// transaction costs PostgreSQL its statements and its turn on the hot row
// whatever its size, and when every free worker took what was waiting,
// most batches were of one submit (bench/flashsale -v: 4 workers, C=32,
// mean batch 4 with over half of one; with this rule, mean 15, and about
// 40% less PostgreSQL and 20% less of this process's CPU per order).
const flashFill = 16

// maxFlashBatch bounds the submits written in one transaction.
const maxFlashBatch = 256

// WithFlashBatchObserver has observe called with the number of submits of
// every flash-sale batch written (a bench's histogram of the batch sizes
// the load achieved).
func WithFlashBatchObserver(observe func(size int)) OrdersOption {
	return func(o *Orders) { o.observeBatch = observe }
}

// errDuplicateOrder: the order's id (user and idempotency key) is already
// stored; Submit answers with the stored order.
var errDuplicateOrder = errors.New("order already submitted")

// flashRequest is one flash-sale submit waiting for its batch.
type flashRequest struct {
	ctx   context.Context // the caller's, for its event's caller facts
	order order.Order
	hold  commerce.Hold
	done  chan error // buffered: the batch never blocks on a caller
}

// flashQueue is the pending submits of one sale and whether a batch is in
// flight.
type flashQueue struct {
	mu      sync.Mutex
	pending []*flashRequest
	workers int   // batches being written
	claimed int64 // units the batches in flight mean to take
	// known is the sale's remaining units as this process last saw them
	// (-1: unknown); buyers are the users it wrote orders of the sale for.
	// Both only choose between a batch written at once and one checked
	// first (commitBatch): the constraints are the truth.
	known  int64
	buyers map[string]bool
}

// flashQueue returns the queue of sale id.
func (r *Orders) flashQueue(id string) *flashQueue {
	r.flashMu.Lock()
	defer r.flashMu.Unlock()
	q, ok := r.flashQueues[id]
	if !ok {
		q = &flashQueue{known: -1, buyers: map[string]bool{}}
		r.flashQueues[id] = q
	}
	return q
}

// submitBatched queues o's hold on sale st and waits for its batch's
// commit.
func (r *Orders) submitBatched(ctx context.Context, st *flashState, o order.Order, h commerce.Hold) error {
	req := &flashRequest{ctx: ctx, order: o, hold: h, done: make(chan error, 1)}
	q := r.flashQueue(st.sale.ID)
	q.mu.Lock()
	q.pending = append(q.pending, req)
	start := q.workers == 0 || (q.workers < flashWorkers && len(q.pending) >= flashFill)
	if start {
		q.workers++
	}
	q.mu.Unlock()
	if start {
		go r.drain(st, q)
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		// The order may still be written (and then times out unpaid like
		// any order whose buyer went away).
		return fmt.Errorf("flash sale %s: %w", st.sale.ID, ctx.Err())
	}
}

// drain writes batches of q until it is empty, or until what waits is
// short of flashFill while another batch is in flight (that batch's worker
// takes it next: the last worker leaves only an empty queue).
func (r *Orders) drain(st *flashState, q *flashQueue) {
	for {
		q.mu.Lock()
		if len(q.pending) == 0 || (q.workers > 1 && len(q.pending) < flashFill) {
			q.workers--
			q.mu.Unlock()
			return
		}
		batch, rest := takeBatch(q.pending)
		q.pending = rest
		q.mu.Unlock()
		retry := r.writeBatch(st, q, batch)
		if len(retry) > 0 {
			q.mu.Lock()
			q.pending = append(retry, q.pending...)
			q.mu.Unlock()
		}
	}
}

// takeBatch takes up to maxFlashBatch requests, one per user (a user's
// second submit waits for the next batch, so that the buyers' counts are
// one row each per statement), in arrival order.
func takeBatch(pending []*flashRequest) (batch, rest []*flashRequest) {
	users := make(map[string]bool, len(pending))
	for _, p := range pending {
		if len(batch) == maxFlashBatch || users[p.hold.UserID] {
			rest = append(rest, p)
			continue
		}
		users[p.hold.UserID] = true
		batch = append(batch, p)
	}
	return batch, rest
}

// writeBatch writes one batch and answers its callers; it returns the
// requests to try again in the next batch (units remain, but fewer than the
// batch asked for before them).
func (r *Orders) writeBatch(st *flashState, q *flashQueue, batch []*flashRequest) []*flashRequest {
	now := r.seller.now()
	var live []*flashRequest
	for _, p := range batch {
		switch {
		case p.ctx.Err() != nil:
			p.done <- p.ctx.Err()
		case st.soldOut(now):
			p.done <- fmt.Errorf("flash sale %s: %w", st.sale.ID, commerce.ErrSoldOut)
		default:
			live = append(live, p)
		}
	}
	if len(live) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if r.observeBatch != nil {
		r.observeBatch(len(live))
	}
	res, err := r.commitBatch(ctx, st, q, live)
	if err != nil {
		// A constraint refused the batch as a whole (another process sold
		// the last units or a user's other device won meanwhile): each
		// request on its own, where every refusal names its cause.
		r.log.Debug("flash batch refused, writing one by one", "sale", st.sale.ID, "orders", len(live), "err", err)
		for _, p := range live {
			p.done <- r.submitOne(p.ctx, p.order, p.hold)
		}
		return nil
	}
	if res.remaining == 0 {
		st.markSoldOut(r.seller.now().Add(r.seller.recheck))
	}
	var retry []*flashRequest
	for i, p := range live {
		switch res.outcome[i] {
		case flashWon:
			p.done <- nil
		case flashDuplicate:
			p.done <- fmt.Errorf("order %s: %w", p.order.ID, errDuplicateOrder)
		case flashOverLimit:
			p.done <- fmt.Errorf("flash sale %s, user %s: %w", st.sale.ID, p.hold.UserID, commerce.ErrLimitReached)
		default:
			if res.remaining >= p.hold.Quantity {
				retry = append(retry, p)
			} else {
				p.done <- fmt.Errorf("flash sale %s: %w", st.sale.ID, commerce.ErrSoldOut)
			}
		}
	}
	return retry
}
