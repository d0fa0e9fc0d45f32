package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/records"
)

// target is what a nearest-neighbour query reads: a table, the indexed
// expression, the row restriction its partial index covers, and the cast of
// the query vector.
type target struct {
	from    string
	indexed string // expression matching the partial HNSW index
	plain   string // same distance without the index-matching cast
	where   string
	dim     int
	storage records.Storage
}

func (s *Store) target(ctx context.Context, q records.NearestQuery) (target, []any, error) {
	if q.Model != "" {
		dim := len(q.Vector)
		// The model key is a bind parameter ($2); only dims are formatted.
		return target{
			from:    `embeddings v JOIN products p ON p.id = v.product_id`,
			indexed: fmt.Sprintf(`v.embedding::vector(%d) <=> $1`, dim),
			plain:   `v.embedding <=> $1`,
			where:   `v.model = $2`,
			dim:     dim,
			storage: records.StorageVector,
		}, []any{pgvector.NewVector(q.Vector), q.Model}, nil
	}
	sp, err := s.shapeOf(ctx, q.Space)
	if err != nil {
		return target{}, nil, err
	}
	if len(q.Vector) != sp.dim {
		return target{}, nil, &records.DimensionError{What: fmt.Sprintf("query for space %d", q.Space), Want: sp.dim, Got: len(q.Vector)}
	}
	col, _ := spaceColumn(sp.storage)
	return target{
		from:    `product_vectors v JOIN products p ON p.id = v.product_id`,
		indexed: fmt.Sprintf(`v.%s::%s(%d) <=> $1`, col, sp.storage, sp.dim),
		plain:   fmt.Sprintf(`v.%s <=> $1`, col),
		where:   `v.space_version = $2`,
		dim:     sp.dim,
		storage: sp.storage,
	}, []any{vectorArg(sp.storage, q.Vector), q.Space}, nil
}

// spaceShape is what a nearest-neighbour query needs of a space.
type spaceShape struct {
	dim     int
	storage records.Storage
}

// shapeOf returns a space's dimension and storage. Neither changes under a
// version (a space is never altered, only created, activated, retired or
// dropped), so each process reads them once per version instead of the
// whole space row, spec included (megabytes for a reduced space), on every
// query. A space dropped by another process keeps its shape here; queries
// against it find no rows.
func (s *Store) shapeOf(ctx context.Context, version int) (spaceShape, error) {
	if v, ok := s.shapes.Load(version); ok {
		return v.(spaceShape), nil
	}
	var sh spaceShape
	err := s.pool.QueryRow(ctx, `SELECT dim, storage FROM vector_spaces WHERE version = $1`, version).Scan(&sh.dim, &sh.storage)
	if errors.Is(err, pgx.ErrNoRows) {
		return sh, fmt.Errorf("vector space %d: %w", version, records.ErrNotFound)
	}
	if err != nil {
		return sh, fmt.Errorf("get space %d: %w", version, err)
	}
	s.shapes.Store(version, sh)
	return sh, nil
}

// Nearest returns up to K live products nearest to the query that pass the
// filter, closest first. It returns K rows whenever K rows match: the HNSW
// index is scanned iteratively (pgvector 0.8) so selective filters keep
// scanning, and if the index still yields fewer than K an exact scan runs.
func (s *Store) Nearest(ctx context.Context, q records.NearestQuery) ([]records.Neighbor, error) {
	if q.K < 1 || q.K > records.MaxK {
		return nil, fmt.Errorf("%w: k must be between 1 and %d", catalog.ErrInvalid, records.MaxK)
	}
	if len(q.Vector) == 0 {
		return nil, &records.DimensionError{What: "query", Want: 1, Got: 0}
	}
	t, args, err := s.target(ctx, q)
	if err != nil {
		return nil, err
	}
	where, args := filterSQL(q.Filter, []string{t.where, `p.deleted_at IS NULL`}, args)
	// The limit is written into the text (K is a validated integer) rather
	// than bound: with a bound LIMIT PostgreSQL cannot price a generic plan
	// and plans every execution again (0.2-0.7 ms a query in a log of the
	// recommendations' reads); with it, each K's prepared statement keeps
	// its plan.
	limit := strconv.Itoa(q.K)
	query := func(distance string) string {
		return `SELECT v.product_id, ` + distance + ` AS distance FROM ` + t.from +
			` WHERE ` + where + ` ORDER BY distance LIMIT ` + limit
	}
	if q.Exact {
		return s.nearest(ctx, query(t.plain), args, 0)
	}
	ef := q.EfSearch
	if ef == 0 {
		// ef_search 80 gave recall@10 0.97 at 100k vectors (40: 0.87) for
		// under a millisecond more; see BENCHMARKS.md.
		ef = max(8*q.K, 80)
	}
	hits, err := s.nearest(ctx, query(t.indexed), args, min(ef, 1000))
	if err != nil || len(hits) >= q.K {
		return hits, err
	}
	// The index ran out (max_scan_tuples) before K rows passed the filter;
	// an exact scan answers correctly whenever K rows match.
	return s.nearest(ctx, query(t.plain), args, 0)
}

// ModelVectors returns one model's stored embeddings of the given
// products (those that have one), by product id: a primary-key lookup,
// for scoring a few candidates exactly instead of searching the index.
func (s *Store) ModelVectors(ctx context.Context, model string, ids []string) (map[string][]float32, error) {
	rows, err := s.pool.Query(ctx, `SELECT product_id, embedding FROM embeddings WHERE model = $1 AND product_id = ANY($2)`, model, ids)
	if err != nil {
		return nil, fmt.Errorf("model vectors: %w", err)
	}
	defer rows.Close()
	out := make(map[string][]float32, len(ids))
	for rows.Next() {
		var id string
		var v pgvector.Vector
		if err := rows.Scan(&id, &v); err != nil {
			return nil, fmt.Errorf("model vectors: %w", err)
		}
		out[id] = v.Slice()
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("model vectors: %w", err)
	}
	return out, nil
}

func (s *Store) nearest(ctx context.Context, sql string, args []any, ef int) ([]records.Neighbor, error) {
	scan := func(r pgx.CollectableRow) (records.Neighbor, error) {
		var n records.Neighbor
		err := r.Scan(&n.ProductID, &n.Distance)
		return n, err
	}
	if ef == 0 {
		rows, err := s.pool.Query(ctx, sql, args...)
		if err != nil {
			return nil, fmt.Errorf("nearest: %w", err)
		}
		out, err := pgx.CollectRows(rows, scan)
		if err != nil {
			return nil, fmt.Errorf("nearest: %w", err)
		}
		return out, nil
	}
	out, err := hnswQuery(ctx, s, hnswSettings{ef: ef, scan: "strict_order"}, sql, args, scan)
	if err != nil {
		return nil, fmt.Errorf("nearest: %w", err)
	}
	return out, nil
}

// hnswSettings are the transaction-local HNSW settings of one query:
// ef_search and iterative_scan (strict_order or relaxed_order).
type hnswSettings struct {
	ef   int
	scan string
}

// hnswQuery runs sql with the HNSW settings for it alone, in one round
// trip: a batch runs as one implicit transaction, so the
// transaction-local settings hold for the query after them (an explicit
// BEGIN ... COMMIT took four round trips). Each row is read by scan.
func hnswQuery[T any](ctx context.Context, s *Store, set hnswSettings, sql string, args []any, scan pgx.RowToFunc[T]) ([]T, error) {
	b := &pgx.Batch{}
	b.Queue(`SELECT set_config('hnsw.ef_search', $1, true), set_config('hnsw.iterative_scan', $2, true)`, fmt.Sprint(set.ef), set.scan)
	b.Queue(sql, args...)
	br := s.pool.SendBatch(ctx, b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return nil, fmt.Errorf("hnsw settings: %w", err)
	}
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, scan)
	if err != nil {
		return nil, err
	}
	return out, br.Close()
}

// filterSQL appends the filter's conditions, each with bind parameters;
// no user value is ever formatted into the SQL text.
func filterSQL(f catalog.Filter, conds []string, args []any) (string, []any) {
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, strings.ReplaceAll(cond, "$?", fmt.Sprintf("$%d", len(args))))
	}
	if len(f.Category) > 0 {
		add(`p.category[1:cardinality($?::text[])] = $?::text[]`, f.Category)
	}
	if len(f.Brands) > 0 {
		add(`p.brand = ANY($?::text[])`, f.Brands)
	}
	if f.MinPrice != nil {
		add(`p.price >= $?`, *f.MinPrice)
	}
	if f.MaxPrice != nil {
		add(`p.price <= $?`, *f.MaxPrice)
	}
	if len(f.Attributes) > 0 {
		add(`p.attributes @> $?::jsonb`, f.Attributes)
	}
	if len(f.Exclude) > 0 {
		add(`p.id <> ALL($?::text[])`, f.Exclude)
	}
	return strings.Join(conds, " AND "), args
}
