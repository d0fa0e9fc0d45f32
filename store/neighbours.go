package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vitrinehq/vitrine/records"
)

// SaveItemNeighbours stores a model's per-item neighbour lists for one
// method (COPY, streamed: next returns the next product's list, ok false
// at the end), replacing any lists that model and method had.
func (s *Store) SaveItemNeighbours(ctx context.Context, version int, method string, next func() (productID string, ns []records.Scored, ok bool)) (int, error) {
	var n int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM item_neighbours WHERE model_version = $1 AND method = $2`, version, method); err != nil {
			return fmt.Errorf("clear item neighbours: %w", err)
		}
		var row []any
		src := pgx.CopyFromFunc(func() ([]any, error) {
			id, ns, ok := next()
			if !ok {
				return nil, nil
			}
			ids, scores := scoredColumns(ns)
			row = append(row[:0], version, method, id, ids, scores)
			return row, nil
		})
		var err error
		n, err = tx.CopyFrom(ctx, pgx.Identifier{"item_neighbours"}, []string{"model_version", "method", "product_id", "neighbours", "scores"}, src)
		if err != nil {
			return fmt.Errorf("copy item neighbours: %w", err)
		}
		return nil
	})
	return int(n), err
}

// ItemNeighbours returns the stored neighbour lists of these products for
// a model's method (products without a list are absent), best first.
func (s *Store) ItemNeighbours(ctx context.Context, version int, method string, ids []string) (map[string][]records.Scored, error) {
	rows, err := s.pool.Query(ctx, `SELECT product_id, neighbours, scores FROM item_neighbours
		WHERE model_version = $1 AND method = $2 AND product_id = ANY($3)`, version, method, ids)
	if err != nil {
		return nil, fmt.Errorf("item neighbours: %w", err)
	}
	return collectLists(rows, len(ids), "item neighbours")
}

// ContentNeighbours returns the content-neighbour lists of these products
// in a space (SaveContentNeighbours) stored at or after since and not
// before their product's vector was last written, best first; products
// without one, or with an older one, are absent. (A list computed from a
// vector whose replacement was being committed meanwhile passes until
// since: the lists' TTL bounds it.)
func (s *Store) ContentNeighbours(ctx context.Context, space int, ids []string, since time.Time) (map[string][]records.Scored, error) {
	rows, err := s.pool.Query(ctx, `SELECT c.product_id, c.neighbours, c.scores FROM content_neighbours c
		LEFT JOIN product_vectors v ON v.space_version = c.space_version AND v.product_id = c.product_id
		WHERE c.space_version = $1 AND c.product_id = ANY($2) AND c.at >= $3
		AND (v.updated_at IS NULL OR v.updated_at <= c.at)`, space, ids, since)
	if err != nil {
		return nil, fmt.Errorf("content neighbours: %w", err)
	}
	return collectLists(rows, len(ids), "content neighbours")
}

// SaveContentNeighbours stores products' content-neighbour lists in a
// space as of at, replacing those stored (one round trip).
func (s *Store) SaveContentNeighbours(ctx context.Context, space int, lists map[string][]records.Scored, at time.Time) error {
	b := &pgx.Batch{}
	for id, ns := range lists {
		ids, scores := scoredColumns(ns)
		b.Queue(`INSERT INTO content_neighbours (space_version, product_id, neighbours, scores, at)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (space_version, product_id) DO UPDATE
			SET neighbours = EXCLUDED.neighbours, scores = EXCLUDED.scores, at = EXCLUDED.at`, space, id, ids, scores, at)
	}
	if b.Len() == 0 {
		return nil
	}
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		if pgCode(err) == codeForeignKey {
			return nil // the space was dropped meanwhile
		}
		return fmt.Errorf("save content neighbours: %w", err)
	}
	return nil
}

// scoredColumns splits a list into its ids and scores, as stored.
func scoredColumns(ns []records.Scored) ([]string, []float32) {
	ids, scores := make([]string, len(ns)), make([]float32, len(ns))
	for k, x := range ns {
		ids[k], scores[k] = x.ProductID, float32(x.Score)
	}
	return ids, scores
}

// collectLists reads (product_id, neighbours, scores) rows into lists.
func collectLists(rows pgx.Rows, n int, what string) (map[string][]records.Scored, error) {
	defer rows.Close()
	out := make(map[string][]records.Scored, n)
	for rows.Next() {
		var id string
		var ns []string
		var sc []float32
		if err := rows.Scan(&id, &ns, &sc); err != nil {
			return nil, fmt.Errorf("scan %s: %w", what, err)
		}
		l := make([]records.Scored, len(ns))
		for k := range ns {
			l[k] = records.Scored{ProductID: ns[k], Score: float64(sc[k])}
		}
		out[id] = l
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}
