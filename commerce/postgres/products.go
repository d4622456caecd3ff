package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/tide-live/tide/commerce"
)

const productColumns = `id, merchant_id, title, brand, category, description, images, attrs, status,
	price_fen, sales, listed_at, created_at, updated_at`

// upsertProducts inserts new products and replaces changed ones (content
// hash differs), in id order so that concurrent imports lock rows in the same
// order, and returns each created or updated product (announce writes their
// events). The ON CONFLICT clause settles races with concurrent writers of
// the same ids.
const upsertProducts = `
WITH input AS (
	SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
		$7::text[], $8::text[], $9::text[], $10::int8[], $11::int8[], $12::bytea[], $13::timestamptz[])
	AS t(id, merchant_id, title, brand, category, description, images, attrs, status, price_fen, sales, content_hash, listed_at)
), changed AS (
	-- Unchanged rows stop here, read-only: ON CONFLICT would lock (write) them.
	-- A correlated subquery is an index probe per row whatever the statistics
	-- say; a join may be planned as a scan of the whole catalog per batch.
	SELECT i.* FROM input i
	WHERE i.content_hash IS DISTINCT FROM (SELECT cur.content_hash FROM products cur WHERE cur.id = i.id)
), up AS (
	INSERT INTO products AS p (id, merchant_id, title, brand, category, description, images, attrs,
		status, price_fen, sales, content_hash, listed_at)
	SELECT id, merchant_id, title, brand, category, description, images::jsonb, attrs::jsonb,
		status, price_fen, sales, content_hash, listed_at
	FROM changed ORDER BY id
	ON CONFLICT (id) DO UPDATE SET
		merchant_id = EXCLUDED.merchant_id, title = EXCLUDED.title, brand = EXCLUDED.brand,
		category = EXCLUDED.category, description = EXCLUDED.description, images = EXCLUDED.images,
		attrs = EXCLUDED.attrs, status = EXCLUDED.status, price_fen = EXCLUDED.price_fen,
		sales = EXCLUDED.sales, listed_at = EXCLUDED.listed_at, content_hash = EXCLUDED.content_hash,
		updated_at = now()
	WHERE p.content_hash IS DISTINCT FROM EXCLUDED.content_hash
	RETURNING p.id, p.merchant_id, (p.xmax = 0) AS created
)
SELECT id, merchant_id, CASE WHEN created THEN 'created' ELSE 'updated' END FROM up ORDER BY id`

const ensureMerchants = `
INSERT INTO merchants (id)
SELECT DISTINCT m FROM unnest($1::text[]) AS m ORDER BY m
ON CONFLICT (id) DO NOTHING`

// WriteProducts creates or replaces ps in one transaction (commerce.ProductWriter).
// Merchants are created on first sight. A product whose content hash is
// unchanged is not written and publishes nothing; every created or updated
// one gets a product-changed event in the shared outbox in the same
// transaction. Products that carry SKUs
// (Product.SKUs not nil) have their SKUs replaced in the same transaction,
// whether or not the product itself changed. The products must be valid
// (commerce.Reader returns only valid ones) and their ids distinct.
func (s *Store) WriteProducts(ctx context.Context, ps []commerce.Product) (commerce.WriteResult, error) {
	return s.writeProducts(ctx, ps, true)
}

// DryRun returns a ProductWriter that does everything WriteProducts does,
// counts included, and then rolls the transaction back.
func (s *Store) DryRun() commerce.ProductWriter { return dryRun{s} }

type dryRun struct{ s *Store }

func (d dryRun) WriteProducts(ctx context.Context, ps []commerce.Product) (commerce.WriteResult, error) {
	return d.s.writeProducts(ctx, ps, false)
}

func (s *Store) writeProducts(ctx context.Context, ps []commerce.Product, commit bool) (commerce.WriteResult, error) {
	if len(ps) == 0 {
		return commerce.WriteResult{}, nil
	}
	n := len(ps)
	var (
		ids, merchants, titles, brands = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		cats, descs, images, attrs     = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		statuses                       = make([]string, n)
		prices, sales                  = make([]int64, n), make([]int64, n)
		hashes                         = make([][]byte, n)
		listed                         = make([]pgtype.Timestamptz, n)
	)
	for i := range ps {
		p := &ps[i]
		ids[i], merchants[i], titles[i], brands[i] = p.ID, p.MerchantID, p.Title, p.Brand
		cats[i], descs[i], statuses[i] = p.Category, p.Description, string(p.Status)
		if statuses[i] == "" {
			statuses[i] = string(commerce.OnShelf)
		}
		prices[i], sales[i] = p.PriceFen, p.Sales
		h := p.ContentHash()
		hashes[i] = h[:]
		listed[i] = timestamptz(p.ListedAt)
		var err error
		if images[i], err = jsonText(p.Images, "[]"); err != nil {
			return commerce.WriteResult{}, fmt.Errorf("product %s images: %w", p.ID, err)
		}
		if attrs[i], err = jsonText(p.Attrs, "{}"); err != nil {
			return commerce.WriteResult{}, fmt.Errorf("product %s attrs: %w", p.ID, err)
		}
	}
	var res commerce.WriteResult
	err := s.tx(ctx, commit, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, ensureMerchants, merchants); err != nil {
			return fmt.Errorf("create merchants: %w", err)
		}
		changes, err := upsert(ctx, tx, ids, merchants, titles, brands, cats, descs,
			images, attrs, statuses, prices, sales, hashes, listed)
		if err != nil {
			return fmt.Errorf("upsert products: %w", err)
		}
		res = tally(changes, n)
		for _, p := range ps {
			if p.SKUs != nil {
				if err := putSKUsTx(ctx, tx, p.ID, p.SKUs); err != nil {
					return err
				}
			}
		}
		return announce(ctx, tx, changes)
	})
	if err != nil {
		return commerce.WriteResult{}, err
	}
	return res, nil
}

// upsert runs upsertProducts with args and returns the changes it made.
func upsert(ctx context.Context, tx pgx.Tx, args ...any) ([]productChange, error) {
	rows, err := tx.Query(ctx, upsertProducts, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (productChange, error) {
		var c productChange
		err := row.Scan(&c.productID, &c.merchantID, &c.change)
		return c, err
	})
}

// tally counts the changes of a write of n products.
func tally(changes []productChange, n int) commerce.WriteResult {
	var res commerce.WriteResult
	for _, c := range changes {
		if c.change == ChangeCreated {
			res.Created++
		} else {
			res.Updated++
		}
	}
	res.Unchanged = n - res.Created - res.Updated
	return res
}

// tx runs f in a transaction and commits (or, for a dry run, rolls back).
func (s *Store) tx(ctx context.Context, commit bool, f func(pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("commerce postgres: begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := f(tx); err != nil {
		return err
	}
	if !commit {
		return nil
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commerce postgres: commit: %w", err)
	}
	return nil
}

// timestamptz is t, or NULL for the zero time.
func timestamptz(t time.Time) pgtype.Timestamptz {
	return pgtype.Timestamptz{Time: t, Valid: !t.IsZero()}
}

func jsonText(v any, empty string) (string, error) {
	switch x := v.(type) {
	case []string:
		if len(x) == 0 {
			return empty, nil
		}
	case commerce.Attrs:
		if len(x) == 0 {
			return empty, nil
		}
	}
	b, err := json.Marshal(v)
	return string(b), err
}

// UpdateProduct applies change to the stored product id under a row lock
// and writes it back, with its product-changed event, when its content
// changed. It
// reports whether it did; ErrNotFound wraps the error for an unknown id.
func (s *Store) UpdateProduct(ctx context.Context, id string, change func(*commerce.Product) error) (changed bool, err error) {
	err = s.tx(ctx, true, func(tx pgx.Tx) error {
		p, err := scanProduct(tx.QueryRow(ctx, `SELECT `+productColumns+` FROM products WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("product %s: %w", id, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("product %s: %w", id, err)
		}
		before := p.ContentHash()
		if err := change(&p); err != nil {
			return err
		}
		p.ID = id
		p.Normalize()
		if err := commerce.DefaultLimits().Validate(&p); err != nil {
			return fmt.Errorf("product %s: %w", id, err)
		}
		if p.ContentHash() == before {
			return nil
		}
		res, err := s.writeInTx(ctx, tx, p)
		changed = res.Updated > 0
		return err
	})
	return changed, err
}

func (s *Store) writeInTx(ctx context.Context, tx pgx.Tx, p commerce.Product) (commerce.WriteResult, error) {
	h := p.ContentHash()
	images, err := jsonText(p.Images, "[]")
	if err != nil {
		return commerce.WriteResult{}, err
	}
	attrs, err := jsonText(p.Attrs, "{}")
	if err != nil {
		return commerce.WriteResult{}, err
	}
	if _, err := tx.Exec(ctx, ensureMerchants, []string{p.MerchantID}); err != nil {
		return commerce.WriteResult{}, fmt.Errorf("create merchant: %w", err)
	}
	changes, err := upsert(ctx, tx, []string{p.ID}, []string{p.MerchantID}, []string{p.Title},
		[]string{p.Brand}, []string{p.Category}, []string{p.Description}, []string{images}, []string{attrs},
		[]string{string(p.Status)}, []int64{p.PriceFen}, []int64{p.Sales}, [][]byte{h[:]},
		[]pgtype.Timestamptz{timestamptz(p.ListedAt)})
	if err != nil {
		return commerce.WriteResult{}, fmt.Errorf("write product %s: %w", p.ID, err)
	}
	if err := announce(ctx, tx, changes); err != nil {
		return commerce.WriteResult{}, err
	}
	return tally(changes, 1), nil
}

// SetStatus puts a product on or off the shelf; off-shelf products leave the
// search index.
func (s *Store) SetStatus(ctx context.Context, id string, st commerce.Status) (changed bool, err error) {
	if !st.Valid() {
		return false, fmt.Errorf("status %q: %w", st, &commerce.FieldError{Field: "status", Reason: "neither on nor off"})
	}
	return s.UpdateProduct(ctx, id, func(p *commerce.Product) error {
		p.Status = st
		return nil
	})
}

// DeleteProducts removes products (and their SKUs) and announces a
// "deleted" change for each one that existed. It returns how many did.
func (s *Store) DeleteProducts(ctx context.Context, ids ...string) (int, error) {
	var n int
	err := s.tx(ctx, true, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			WITH d AS (DELETE FROM products WHERE id = ANY($1) RETURNING id, merchant_id)
			SELECT id, merchant_id FROM d ORDER BY id`, ids)
		if err != nil {
			return fmt.Errorf("delete products: %w", err)
		}
		changes, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (productChange, error) {
			c := productChange{change: ChangeDeleted}
			err := row.Scan(&c.productID, &c.merchantID)
			return c, err
		})
		if err != nil {
			return fmt.Errorf("delete products: %w", err)
		}
		n = len(changes)
		return announce(ctx, tx, changes)
	})
	return n, err
}

// Product returns one product; the error wraps ErrNotFound for an unknown id.
func (s *Store) Product(ctx context.Context, id string) (commerce.Product, error) {
	p, err := scanProduct(s.pool.QueryRow(ctx, `SELECT `+productColumns+` FROM products WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return commerce.Product{}, fmt.Errorf("product %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return commerce.Product{}, fmt.Errorf("product %s: %w", id, err)
	}
	return p, nil
}

// Products returns the products among ids that exist, in id order.
func (s *Store) Products(ctx context.Context, ids []string) ([]commerce.Product, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+productColumns+` FROM products WHERE id = ANY($1) ORDER BY id`, ids)
	if err != nil {
		return nil, fmt.Errorf("products: %w", err)
	}
	out := make([]commerce.Product, 0, len(ids))
	err = eachRow(rows, func(p commerce.Product) error {
		out = append(out, p)
		return nil
	})
	return out, err
}

// EachProduct calls f for every product, in id order, from one consistent
// snapshot (a single query). With onShelfOnly, off-shelf products are
// skipped. An error from f stops the scan and is returned.
func (s *Store) EachProduct(ctx context.Context, onShelfOnly bool, f func(commerce.Product) error) error {
	q := `SELECT ` + productColumns + ` FROM products`
	if onShelfOnly {
		q += ` WHERE status = 'on'`
	}
	rows, err := s.pool.Query(ctx, q+` ORDER BY id`)
	if err != nil {
		return fmt.Errorf("scan products: %w", err)
	}
	return eachRow(rows, f)
}

// CountProducts is the number of products in the catalog.
func (s *Store) CountProducts(ctx context.Context) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM products`).Scan(&n)
	return n, err
}

func eachRow(rows pgx.Rows, f func(commerce.Product) error) error {
	defer rows.Close()
	for rows.Next() {
		p, err := scanProduct(rows)
		if err != nil {
			return fmt.Errorf("scan product: %w", err)
		}
		if err := f(p); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("scan products: %w", err)
	}
	return nil
}

func scanProduct(row pgx.Row) (commerce.Product, error) {
	var (
		p             commerce.Product
		images, attrs []byte
		status        string
		listed        pgtype.Timestamptz
	)
	if err := row.Scan(&p.ID, &p.MerchantID, &p.Title, &p.Brand, &p.Category, &p.Description,
		&images, &attrs, &status, &p.PriceFen, &p.Sales, &listed, &p.CreatedAt, &p.UpdatedAt); err != nil {
		return commerce.Product{}, err
	}
	if listed.Valid {
		p.ListedAt = listed.Time.UTC()
	}
	p.Status = commerce.Status(status)
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	if err := json.Unmarshal(images, &p.Images); err != nil {
		return commerce.Product{}, fmt.Errorf("images of %s: %w", p.ID, err)
	}
	if err := json.Unmarshal(attrs, &p.Attrs); err != nil {
		return commerce.Product{}, fmt.Errorf("attrs of %s: %w", p.ID, err)
	}
	if len(p.Images) == 0 {
		p.Images = nil
	}
	if len(p.Attrs) == 0 {
		p.Attrs = nil
	}
	return p, nil
}

// Merchant returns a merchant; the error wraps ErrNotFound for an unknown id.
func (s *Store) Merchant(ctx context.Context, id string) (commerce.Merchant, error) {
	var m commerce.Merchant
	err := s.pool.QueryRow(ctx, `SELECT id, name, created_at, updated_at FROM merchants WHERE id = $1`, id).
		Scan(&m.ID, &m.Name, &m.CreatedAt, &m.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return m, fmt.Errorf("merchant %s: %w", id, ErrNotFound)
	}
	m.CreatedAt, m.UpdatedAt = m.CreatedAt.UTC(), m.UpdatedAt.UTC()
	return m, err
}

// PutMerchant creates a merchant or renames it.
func (s *Store) PutMerchant(ctx context.Context, m commerce.Merchant) error {
	_, err := s.pool.Exec(ctx, `
		INSERT INTO merchants (id, name) VALUES ($1, $2)
		ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, updated_at = now()
		WHERE merchants.name IS DISTINCT FROM EXCLUDED.name`, m.ID, m.Name)
	if err != nil {
		return fmt.Errorf("put merchant %s: %w", m.ID, err)
	}
	return nil
}
