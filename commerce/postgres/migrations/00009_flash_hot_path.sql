-- The flash-sale batch writes, in one INSERT statement, each order with its line, its three
-- initial transitions and its timer. Two of the per-row costs in that statement guard nothing the
-- statement does not already guarantee; this migration removes them.
--
-- 1. order_lines → orders foreign key (a check per line; about a fifth of a 14-order batch's
--    execution time measured with EXPLAIN ANALYZE). Safe to drop because:
--    * every order_lines row is written by the same statement as its order (writeOrder's and the
--      flash batch's holdSQL select the lines FROM the orders CTE's RETURNING), in one
--      transaction, so a line exists only if its order's INSERT succeeded and committed with it;
--    * nothing deletes or re-keys orders (orders only move through states: no DELETE FROM orders,
--      no UPDATE of orders.id), so a line never loses its order afterwards.
--    order_transitions and order_timers never had a foreign key. The other tables that reference
--    orders (payment_attempts, refunds, presale, shipments) are written off the hot path and keep
--    theirs. The storm and kill tests assert the invariant: no line without its order.
--
-- 2. order_transitions had two indexes, the primary key on id and (order_id, id); every read is
--    by order_id ORDER BY id. (order_id, id) becomes the primary key and the index on id alone
--    goes: one index insert fewer per transition row (three per order). Every transition is still
--    a row; id still orders an order's transitions.

-- +goose Up
ALTER TABLE order_lines DROP CONSTRAINT order_lines_order_id_fkey;
ALTER TABLE order_transitions DROP CONSTRAINT order_transitions_pkey;
DROP INDEX order_transitions_order;
ALTER TABLE order_transitions ADD PRIMARY KEY (order_id, id);

-- +goose Down
ALTER TABLE order_transitions DROP CONSTRAINT order_transitions_pkey;
ALTER TABLE order_transitions ADD PRIMARY KEY (id);
CREATE INDEX order_transitions_order ON order_transitions (order_id, id);
ALTER TABLE order_lines ADD CONSTRAINT order_lines_order_id_fkey FOREIGN KEY (order_id) REFERENCES orders (id);
