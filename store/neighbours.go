package store

import (
	"context"
	"fmt"

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
			ids, scores := make([]string, len(ns)), make([]float32, len(ns))
			for k, x := range ns {
				ids[k], scores[k] = x.ProductID, float32(x.Score)
			}
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
	defer rows.Close()
	out := make(map[string][]records.Scored, len(ids))
	for rows.Next() {
		var id string
		var ns []string
		var sc []float32
		if err := rows.Scan(&id, &ns, &sc); err != nil {
			return nil, fmt.Errorf("scan item neighbours: %w", err)
		}
		l := make([]records.Scored, len(ns))
		for k := range ns {
			l[k] = records.Scored{ProductID: ns[k], Score: float64(sc[k])}
		}
		out[id] = l
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("item neighbours: %w", err)
	}
	return out, nil
}
