package store

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/records"
)

const upsertProductSQL = `
INSERT INTO products (id, title, description, brand, category, price, currency, attributes, media, content_hash)
VALUES ($1, $2, $3, $4, $5, $6, NULLIF($7, ''), $8, $9, $10)
` + upsertProductConflict + `RETURNING (xmax = 0)`

// upsertProductConflict is what an upsert of a product changes when its id
// exists: everything, and only when its content changed or it was deleted
// (an unchanged live product is left as it is and returns no row).
const upsertProductConflict = `
ON CONFLICT (id) DO UPDATE SET
    title = EXCLUDED.title, description = EXCLUDED.description, brand = EXCLUDED.brand,
    category = EXCLUDED.category, price = EXCLUDED.price, currency = EXCLUDED.currency,
    attributes = EXCLUDED.attributes, media = EXCLUDED.media, content_hash = EXCLUDED.content_hash,
    updated_at = now(), deleted_at = NULL
WHERE products.content_hash <> EXCLUDED.content_hash OR products.deleted_at IS NOT NULL
`

func productArgs(p catalog.Product) []any {
	attrs, media, cat := productDefaults(p)
	return []any{p.ID, p.Title, p.Description, p.Brand, cat, p.Price, p.Currency, attrs, media, p.ContentHash()}
}

// productDefaults is p's attributes, media and category, empty rather
// than nil, as the columns store them.
func productDefaults(p catalog.Product) (map[string]any, []catalog.Media, []string) {
	attrs := p.Attributes
	if attrs == nil {
		attrs = map[string]any{}
	}
	media := p.Media
	if media == nil {
		media = []catalog.Media{}
	}
	cat := p.Category
	if cat == nil {
		cat = []string{}
	}
	return attrs, media, cat
}

// insertSuggestTermsSQL adds the suggestion terms of the products a
// transaction is about to write, in the order given (kinds[i], terms[i]).
const insertSuggestTermsSQL = `INSERT INTO suggest_terms (kind, term)
SELECT k, t FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS x(k, t, n) ORDER BY n
ON CONFLICT DO NOTHING`

// suggestTerms returns the terms the products' suggestion trigger
// (migration 00007) inserts for products, without duplicates and sorted by
// kind then term, as two parallel columns.
//
// Inserting them first, in this order, is what lets two transactions
// upsert products at once. A new term is a unique-index entry: a second
// transaction inserting the same term waits for the first to end. Left to
// the trigger, each transaction takes its terms in its own products'
// order, so two batches that both introduce brands A and B, one in the
// order A, B and the other B, A, each wait for the other: PostgreSQL ends
// one with a deadlock (40P01). A single sorted statement makes every
// writer wait in the same order, so there is no cycle; the trigger then
// finds its terms already there.
func suggestTerms(products []catalog.Product) (kinds, terms []string) {
	type term struct{ kind, term string }
	seen := make(map[term]bool, 3*len(products))
	var all []term
	add := func(k, t string) {
		if t != "" && !seen[term{k, t}] {
			seen[term{k, t}] = true
			all = append(all, term{k, t})
		}
	}
	for _, p := range products {
		add("title", p.Title)
		add("brand", p.Brand)
		for _, c := range p.Category {
			add("category", c)
		}
	}
	slices.SortFunc(all, func(a, b term) int {
		return cmp.Or(strings.Compare(a.kind, b.kind), strings.Compare(a.term, b.term))
	})
	kinds, terms = make([]string, len(all)), make([]string, len(all))
	for i, t := range all {
		kinds[i], terms[i] = t.kind, t.term
	}
	return kinds, terms
}

// UpsertProducts writes products idempotently by id and content hash. The
// products must already be validated. The batch is pipelined in one round
// trip; if any row fails, rows are retried one by one so a single bad row
// is reported in its result and the others land.
//
// Concurrent calls are safe and do not deadlock each other: each
// transaction takes its locks in one global order (suggestion terms
// sorted, then products by id), and one that PostgreSQL still ends with a
// transient error (a deadlock with another writer, say) is run again.
func (s *Store) UpsertProducts(ctx context.Context, products []catalog.Product) ([]records.UpsertResult, error) {
	if len(products) == 0 {
		return nil, nil
	}
	res, err := s.upsertBatch(ctx, products)
	if err == nil {
		return res, nil
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("upsert products: %w", err)
	}
	// Isolate the failing rows.
	for i, p := range products {
		var st records.UpsertStatus
		kinds, terms := suggestTerms(products[i : i+1])
		err := s.retryTx(ctx, "upsert product", func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, insertSuggestTermsSQL, kinds, terms); err != nil {
				return err
			}
			var err error
			st, err = scanUpsert(tx.QueryRow(ctx, upsertProductSQL, productArgs(p)...))
			return err
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("upsert products: %w", err)
			}
			res[i] = records.UpsertResult{ID: p.ID, Status: records.Failed, Err: fmt.Errorf("product %q: %w", p.ID, err)}
			continue
		}
		res[i] = records.UpsertResult{ID: p.ID, Status: st}
	}
	return res, nil
}

// upsertProductsSQL upserts a batch of products in one statement, in the
// order given (the rows' ordinality), and returns the id of each row it
// inserted or updated with whether it was new; an unchanged product
// returns nothing. Categories travel as JSON arrays (a text[] column
// cannot be unnested from a ragged text[][]).
const upsertProductsSQL = `
INSERT INTO products (id, title, description, brand, category, price, currency, attributes, media, content_hash)
SELECT id, title, description, brand, ARRAY(SELECT jsonb_array_elements_text(category)), price, NULLIF(currency, ''), attributes, media, content_hash
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::float8[], $7::text[], $8::jsonb[], $9::jsonb[], $10::bytea[])
	WITH ORDINALITY AS x(id, title, description, brand, category, price, currency, attributes, media, content_hash, n)
ORDER BY n
` + upsertProductConflict + `RETURNING id, (xmax = 0)`

// productColumnsOf is the parameters of upsertProductsSQL for products, in
// the order given.
func productColumnsOf(products []catalog.Product, order []int) ([]any, error) {
	n := len(order)
	ids, titles, descs, brands, currencies := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	cats, attrs, media := make([]string, n), make([]string, n), make([]string, n)
	prices, hashes := make([]*float64, n), make([][]byte, n)
	for k, i := range order {
		p := products[i]
		ids[k], titles[k], descs[k], brands[k], prices[k], currencies[k], hashes[k] = p.ID, p.Title, p.Description, p.Brand, p.Price, p.Currency, p.ContentHash()
		attr, med, cat := productDefaults(p)
		for _, c := range []struct {
			dst *string
			v   any
		}{{&cats[k], cat}, {&attrs[k], attr}, {&media[k], med}} {
			b, err := json.Marshal(c.v)
			if err != nil {
				return nil, fmt.Errorf("product %q: %w", p.ID, err)
			}
			*c.dst = string(b)
		}
	}
	return []any{ids, titles, descs, brands, cats, prices, currencies, attrs, media, hashes}, nil
}

// upsertBatch upserts products in one transaction and one round trip:
// their suggestion terms first, then the products in id order, in one
// statement. It returns a result per product, in products' order, or the
// first failure (a bad row, or an id given twice, which one statement
// cannot write twice: the caller then writes the rows one by one).
func (s *Store) upsertBatch(ctx context.Context, products []catalog.Product) ([]records.UpsertResult, error) {
	order := make([]int, len(products))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return strings.Compare(products[a].ID, products[b].ID) })
	kinds, terms := suggestTerms(products)
	args, err := productColumnsOf(products, order)
	if err != nil {
		return nil, err
	}
	res := make([]records.UpsertResult, len(products))
	err = s.retryTx(ctx, "upsert products", func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(insertSuggestTermsSQL, kinds, terms)
		b.Queue(upsertProductsSQL, args...)
		br := tx.SendBatch(ctx, b)
		defer br.Close()
		if _, err := br.Exec(); err != nil {
			return err
		}
		rows, err := br.Query()
		if err != nil {
			return err
		}
		written := make(map[string]bool, len(products))
		for rows.Next() {
			var id string
			var inserted bool
			if err := rows.Scan(&id, &inserted); err != nil {
				return err
			}
			written[id] = inserted
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for i, p := range products {
			res[i] = records.UpsertResult{ID: p.ID, Status: records.Unchanged}
			if inserted, ok := written[p.ID]; ok {
				res[i].Status = records.Updated
				if inserted {
					res[i].Status = records.Inserted
				}
			}
		}
		return br.Close()
	})
	return res, err
}

func scanUpsert(row pgx.Row) (records.UpsertStatus, error) {
	var inserted bool
	err := row.Scan(&inserted)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return records.Unchanged, nil
	case err != nil:
		return records.Failed, err
	case inserted:
		return records.Inserted, nil
	default:
		return records.Updated, nil
	}
}

const productColumns = `id, title, description, brand, category, price::float8, COALESCE(currency, ''),
	attributes, media, created_at, updated_at`

func scanProduct(row pgx.Row) (catalog.Product, error) {
	var p catalog.Product
	err := row.Scan(&p.ID, &p.Title, &p.Description, &p.Brand, &p.Category, &p.Price, &p.Currency,
		&p.Attributes, &p.Media, &p.CreatedAt, &p.UpdatedAt)
	if len(p.Attributes) == 0 {
		p.Attributes = nil
	}
	if len(p.Category) == 0 {
		p.Category = nil
	}
	if len(p.Media) == 0 {
		p.Media = nil
	}
	return p, err
}

// GetProduct returns a live (not deleted) product.
func (s *Store) GetProduct(ctx context.Context, id string) (catalog.Product, error) {
	p, err := scanProduct(s.pool.QueryRow(ctx,
		`SELECT `+productColumns+` FROM products WHERE id = $1 AND deleted_at IS NULL`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return p, fmt.Errorf("product %q: %w", id, records.ErrNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("get product %q: %w", id, err)
	}
	return p, nil
}

// GetProducts returns the live products among ids, keyed by id.
func (s *Store) GetProducts(ctx context.Context, ids []string) (map[string]catalog.Product, error) {
	rows, err := s.pool.Query(ctx,
		`SELECT `+productColumns+` FROM products WHERE id = ANY($1) AND deleted_at IS NULL`, ids)
	if err != nil {
		return nil, fmt.Errorf("get products: %w", err)
	}
	defer rows.Close()
	out := make(map[string]catalog.Product, len(ids))
	for rows.Next() {
		p, err := scanProduct(rows)
		if err != nil {
			return nil, fmt.Errorf("scan product: %w", err)
		}
		out[p.ID] = p
	}
	return out, rows.Err()
}

// ContentHashes returns the stored content hashes of live products among
// ids, so ingestion can skip unchanged products without rewriting them.
func (s *Store) ContentHashes(ctx context.Context, ids []string) (map[string][]byte, error) {
	rows, err := s.pool.Query(ctx,
		`SELECT id, content_hash FROM products WHERE id = ANY($1) AND deleted_at IS NULL`, ids)
	if err != nil {
		return nil, fmt.Errorf("content hashes: %w", err)
	}
	defer rows.Close()
	out := make(map[string][]byte, len(ids))
	for rows.Next() {
		var id string
		var h []byte
		if err := rows.Scan(&id, &h); err != nil {
			return nil, fmt.Errorf("scan content hash: %w", err)
		}
		out[id] = h
	}
	return out, rows.Err()
}

// DeleteProduct soft-deletes a product (events keep their reference) and
// drops its fused vectors so it leaves every index at once. A deadlock with
// a concurrent writer runs the transaction again.
func (s *Store) DeleteProduct(ctx context.Context, id string) error {
	return s.retryTx(ctx, "delete product", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE products SET deleted_at = now(), updated_at = now()
			WHERE id = $1 AND deleted_at IS NULL`, id)
		if err != nil {
			return fmt.Errorf("delete product %q: %w", id, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("product %q: %w", id, records.ErrNotFound)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM product_vectors WHERE product_id = $1`, id); err != nil {
			return fmt.Errorf("delete vectors of %q: %w", id, err)
		}
		return nil
	})
}

// CountProducts counts live products.
func (s *Store) CountProducts(ctx context.Context) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM products WHERE deleted_at IS NULL`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count products: %w", err)
	}
	return n, nil
}

// ProductsAfter returns up to limit live products with ids greater than
// after, in id order: keyset pagination for backfills, which can resume
// from the last id they saw.
func (s *Store) ProductsAfter(ctx context.Context, after string, limit int) ([]catalog.Product, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+productColumns+` FROM products
		WHERE id > $1 AND deleted_at IS NULL ORDER BY id LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("list products: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (catalog.Product, error) { return scanProduct(r) })
}
