package store

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"

	"github.com/vitrinehq/vitrine/records"
)

// PutEmbeddings upserts embeddings. Products must exist. Rows are written
// in (product, model) order, so concurrent writers of overlapping products
// lock them in the same order, and a transaction ended by a transient
// error (a deadlock, a serialization failure) is run again.
func (s *Store) PutEmbeddings(ctx context.Context, es []records.Embedding) error {
	if len(es) == 0 {
		return nil
	}
	ids := make([]string, len(es))
	for i, e := range es {
		if len(e.Vector) == 0 {
			return &records.DimensionError{What: fmt.Sprintf("embedding %s of product %q", e.Model, e.ProductID), Want: 1, Got: 0}
		}
		ids[i] = e.ProductID
	}
	if err := s.checkProductsExist(ctx, ids); err != nil {
		return err
	}
	es = slices.Clone(es)
	slices.SortStableFunc(es, func(a, b records.Embedding) int {
		return cmp.Or(strings.Compare(a.ProductID, b.ProductID), strings.Compare(a.Model, b.Model))
	})
	return s.retryTx(ctx, "put embeddings", func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, e := range es {
			b.Queue(`INSERT INTO embeddings (product_id, model, modality, input_hash, embedding)
				VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (product_id, model) DO UPDATE SET modality = EXCLUDED.modality,
					input_hash = EXCLUDED.input_hash, embedding = EXCLUDED.embedding, created_at = now()`,
				e.ProductID, e.Model, e.Modality, e.InputHash, pgvector.NewVector(e.Vector))
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("put embeddings: %w", err)
		}
		return nil
	})
}

// Embeddings returns the stored embeddings of products, keyed by product
// then model.
func (s *Store) Embeddings(ctx context.Context, ids []string) (map[string]map[string]records.Embedding, error) {
	rows, err := s.pool.Query(ctx, `SELECT product_id, model, modality, input_hash, embedding
		FROM embeddings WHERE product_id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("embeddings: %w", err)
	}
	defer rows.Close()
	out := make(map[string]map[string]records.Embedding, len(ids))
	for rows.Next() {
		var e records.Embedding
		var v pgvector.Vector
		if err := rows.Scan(&e.ProductID, &e.Model, &e.Modality, &e.InputHash, &v); err != nil {
			return nil, fmt.Errorf("scan embedding: %w", err)
		}
		e.Vector = v.Slice()
		if out[e.ProductID] == nil {
			out[e.ProductID] = map[string]records.Embedding{}
		}
		out[e.ProductID][e.Model] = e
	}
	return out, rows.Err()
}

// modelIndexName derives a stable, valid identifier from a model key.
func modelIndexName(model string) string {
	sum := sha256.Sum256([]byte(model))
	return "embeddings_" + hex.EncodeToString(sum[:6]) + "_hnsw"
}

// EnsureModelIndex builds a partial HNSW index over one model's embeddings
// (for example the text model's, which text search queries directly),
// unless it exists, with the store's graph parameters, in memory sized to
// the graph and with the configured parallel workers.
func (s *Store) EnsureModelIndex(ctx context.Context, model string, dim int) error {
	if dim < 1 || dim > records.MaxVectorDims {
		return fmt.Errorf("%w: model %s has %d dimensions (limit %d)", records.ErrTooManyDims, model, dim, records.MaxVectorDims)
	}
	// DDL takes no parameters: let PostgreSQL quote the model name (%L).
	var ddl string
	err := s.pool.QueryRow(ctx, `SELECT format(
		'CREATE INDEX IF NOT EXISTS %I ON embeddings USING hnsw ((embedding::vector(%s)) vector_cosine_ops) WITH (m = %s, ef_construction = %s) WHERE model = %L',
		$1::text, $2::int, $3::int, $4::int, $5::text)`, modelIndexName(model), dim, s.hnswM, s.hnswEfc, model).Scan(&ddl)
	if err != nil {
		return fmt.Errorf("model index DDL: %w", err)
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		exists, err := s.prepareIndexBuild(ctx, tx, indexBuild{index: modelIndexName(model), dims: dim, bytesPerDim: 4,
			count: `SELECT count(*) FROM embeddings WHERE model = $1`, args: []any{model}})
		if err != nil || exists {
			return err
		}
		if _, err := tx.Exec(ctx, ddl); err != nil {
			return fmt.Errorf("create index for model %s: %w", model, err)
		}
		return nil
	})
}
