package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"

	"github.com/vitrinehq/vitrine/records"
)

// TrainingEvents streams every event on a live product to fn, in time
// order. Erased users' events are gone, so training leaves them out.
func (s *Store) TrainingEvents(ctx context.Context, fn func(records.TrainingEvent) error) error {
	rows, err := s.pool.Query(ctx, `SELECT e.user_id, e.product_id, e.type, e.value::float8, e.occurred_at
		FROM events e JOIN products p ON p.id = e.product_id AND p.deleted_at IS NULL ORDER BY e.occurred_at, e.id`)
	if err != nil {
		return fmt.Errorf("training events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e records.TrainingEvent
		if err := rows.Scan(&e.UserID, &e.ProductID, &e.Type, &e.Value, &e.At); err != nil {
			return fmt.Errorf("scan event: %w", err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return rows.Err()
}

// SaveCFModel stores a model with its factors (COPY, in one transaction)
// and makes it the active one.
func (s *Store) SaveCFModel(ctx context.Context, m records.CFModel, users, items map[string][]float32) (int, error) {
	params, err := json.Marshal(m.Params)
	if err != nil {
		return 0, fmt.Errorf("cf params: %w", err)
	}
	var version int
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO cf_models (method, params, dim, gram, interactions, users, items, train_seconds)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING version`,
			m.Method, params, m.Dim, m.Gram, m.Interactions, m.Users, m.Items, m.TrainSeconds).Scan(&version)
		if err != nil {
			return fmt.Errorf("save cf model: %w", err)
		}
		copyFactors := func(table, col string, fs map[string][]float32) error {
			rows := make([][]any, 0, len(fs))
			for id, f := range fs {
				if len(f) != m.Dim {
					return &records.DimensionError{What: fmt.Sprintf("%s factors of %q", table, id), Want: m.Dim, Got: len(f)}
				}
				rows = append(rows, []any{version, id, pgvector.NewVector(f)})
			}
			_, err := tx.CopyFrom(ctx, pgx.Identifier{table}, []string{"model_version", col, "factors"}, pgx.CopyFromRows(rows))
			if err != nil {
				return fmt.Errorf("copy %s: %w", table, err)
			}
			return nil
		}
		if err := copyFactors("item_factors", "product_id", items); err != nil {
			return err
		}
		if err := copyFactors("user_factors", "user_id", users); err != nil {
			return err
		}
		// Items are searched by inner product for CF retrieval.
		ddl := fmt.Sprintf(`CREATE INDEX cf_item_factors_%d_hnsw ON item_factors USING hnsw ((factors::vector(%d)) vector_ip_ops) WHERE model_version = %d`, version, m.Dim, version)
		if _, err := tx.Exec(ctx, ddl); err != nil {
			return fmt.Errorf("index item factors: %w", err)
		}
		// Fresh statistics, so the planner sees the new version's rows and
		// searches the index above instead of sorting every item.
		if _, err := tx.Exec(ctx, `ANALYZE item_factors`); err != nil {
			return fmt.Errorf("analyze item factors: %w", err)
		}
		// Deactivate first: one UPDATE flipping both rows checks the
		// one-active unique index row by row, and fails whenever the new
		// row comes first in the heap (it reuses space pruned models left).
		if _, err := tx.Exec(ctx, `UPDATE cf_models SET active = false WHERE active AND version <> $1`, version); err != nil {
			return fmt.Errorf("deactivate cf models: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE cf_models SET active = true WHERE version = $1`, version); err != nil {
			return fmt.Errorf("activate cf model: %w", err)
		}
		// Older models are no longer served; keep only the last two.
		rows, err := tx.Query(ctx, `DELETE FROM cf_models WHERE version < $1 - 1 RETURNING version`, version)
		if err != nil {
			return fmt.Errorf("prune cf models: %w", err)
		}
		old, err := pgx.CollectRows(rows, pgx.RowTo[int])
		if err != nil {
			return fmt.Errorf("prune cf models: %w", err)
		}
		for _, v := range old {
			if _, err := tx.Exec(ctx, fmt.Sprintf(`DROP INDEX IF EXISTS cf_item_factors_%d_hnsw`, v)); err != nil {
				return fmt.Errorf("drop index of cf model %d: %w", v, err)
			}
		}
		return nil
	})
	return version, err
}

// ActiveCFModel returns the serving model.
func (s *Store) ActiveCFModel(ctx context.Context) (records.CFModel, error) {
	var m records.CFModel
	var params []byte
	err := s.pool.QueryRow(ctx, `SELECT version, method, params, dim, gram, interactions, users, items, train_seconds, trained_at, active
		FROM cf_models WHERE active`).Scan(&m.Version, &m.Method, &params, &m.Dim, &m.Gram, &m.Interactions, &m.Users, &m.Items, &m.TrainSeconds, &m.TrainedAt, &m.Active)
	if errors.Is(err, pgx.ErrNoRows) {
		return m, records.ErrNoCFModel
	}
	if err != nil {
		return m, fmt.Errorf("active cf model: %w", err)
	}
	_ = json.Unmarshal(params, &m.Params)
	return m, nil
}

// ActiveCFVersion returns the serving model's version alone: servers read
// it on every request and the full row only when it changes.
func (s *Store) ActiveCFVersion(ctx context.Context) (int, error) {
	var v int
	err := s.pool.QueryRow(ctx, `SELECT version FROM cf_models WHERE active`).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, records.ErrNoCFModel
	}
	if err != nil {
		return 0, fmt.Errorf("active cf version: %w", err)
	}
	return v, nil
}

// sqlActiveUserFactors reads the active model's version and a user's ($1)
// factors in it, NULL when the model lacks the user (ActiveUserFactors,
// RecUser).
const sqlActiveUserFactors = `SELECT m.version, f.factors FROM cf_models m
	LEFT JOIN user_factors f ON f.model_version = m.version AND f.user_id = $1
	WHERE m.active`

// ActiveUserFactors returns the serving model's version and a user's
// factors in it (nil when the model lacks the user) in one query;
// records.ErrNoCFModel when no model is active.
func (s *Store) ActiveUserFactors(ctx context.Context, userID string) (int, []float32, error) {
	var v int
	var f *pgvector.Vector
	err := s.pool.QueryRow(ctx, sqlActiveUserFactors, userID).Scan(&v, &f)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil, records.ErrNoCFModel
	}
	if err != nil {
		return 0, nil, fmt.Errorf("active user factors: %w", err)
	}
	if f == nil {
		return v, nil, nil
	}
	return v, f.Slice(), nil
}

// UserFactors returns a user's factors in a model, or records.ErrNotFound.
func (s *Store) UserFactors(ctx context.Context, version int, userID string) ([]float32, error) {
	var v pgvector.Vector
	err := s.pool.QueryRow(ctx, `SELECT factors FROM user_factors WHERE model_version = $1 AND user_id = $2`, version, userID).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("factors of user %q: %w", userID, records.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("user factors: %w", err)
	}
	return v.Slice(), nil
}

// ItemFactors returns the factors of products in a model.
func (s *Store) ItemFactors(ctx context.Context, version int, ids []string) (map[string][]float32, error) {
	return s.vectorsByProduct(ctx, "item factors", len(ids), `SELECT product_id, factors FROM item_factors
		WHERE model_version = $1 AND product_id = ANY($2)`, version, ids)
}

// TopItemsByFactors returns the live products with the highest inner
// product with user factors, leaving out exclude.
func (s *Store) TopItemsByFactors(ctx context.Context, m records.CFModel, user []float32, k int, exclude []string) ([]records.Scored, error) {
	if len(user) != m.Dim {
		return nil, &records.DimensionError{What: "user factors", Want: m.Dim, Got: len(user)}
	}
	if exclude == nil {
		exclude = []string{}
	}
	// One round trip for the settings and the query (hnswQuery).
	// The version is written into the query, not bound: the HNSW index is
	// partial (WHERE model_version = N), and a generic plan of a prepared
	// statement, which PostgreSQL switches to after a few executions,
	// cannot prove a parameter equal to N, so it scanned and sorted every
	// item's factors instead. So is the limit (an int; a handful of
	// values): with a bound limit the generic plan's estimate (a tenth of
	// the rows) never beat the custom plans', so every execution was
	// planned afresh (about 1 ms against 0.01 ms for the cached generic
	// plan, which uses the index as the custom ones do).
	sql := fmt.Sprintf(`SELECT f.product_id, -(f.factors::vector(%d) <#> $1) AS score
		FROM item_factors f JOIN products p ON p.id = f.product_id AND p.deleted_at IS NULL
		WHERE f.model_version = %d AND f.product_id <> ALL($2::text[])
		ORDER BY f.factors::vector(%d) <#> $1 LIMIT %d`, m.Dim, m.Version, m.Dim, k)
	out, err := hnswQuery(ctx, s, hnswSettings{ef: max(40, 2*k), scan: "relaxed_order"}, sql,
		[]any{pgvector.NewVector(user), exclude}, func(r pgx.CollectableRow) (records.Scored, error) {
			var x records.Scored
			err := r.Scan(&x.ProductID, &x.Score)
			return x, err
		})
	if err != nil {
		return nil, fmt.Errorf("cf retrieval: %w", err)
	}
	return out, nil
}
