package store

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"

	"github.com/vitrinehq/vitrine/records"
)

// putEmbeddingsSQL upserts a batch of embeddings in one statement, in the
// order given (the rows' ordinality), so its row locks are taken in that
// order.
const putEmbeddingsSQL = `INSERT INTO embeddings (product_id, model, modality, input_hash, embedding)
SELECT p, m, md, h, e FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[], $5::vector[]) WITH ORDINALITY AS x(p, m, md, h, e, n)
ORDER BY n
ON CONFLICT (product_id, model) DO UPDATE SET modality = EXCLUDED.modality,
	input_hash = EXCLUDED.input_hash, embedding = EXCLUDED.embedding, created_at = now()`

// PutEmbeddings upserts embeddings. Products must exist. The rows go in
// one statement, in (product, model) order, so concurrent writers of
// overlapping products lock them in the same order, and a transaction
// ended by a transient error (a deadlock, a serialization failure) is run
// again. Of several embeddings with the same product and model the last
// one is stored.
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
	es = lastOfEach(es, func(a, b records.Embedding) int {
		return cmp.Or(strings.Compare(a.ProductID, b.ProductID), strings.Compare(a.Model, b.Model))
	})
	products, models, modalities := make([]string, len(es)), make([]string, len(es)), make([]string, len(es))
	hashes, vecs := make([][]byte, len(es)), make([]pgvector.Vector, len(es))
	for i, e := range es {
		products[i], models[i], modalities[i], hashes[i], vecs[i] = e.ProductID, e.Model, e.Modality, e.InputHash, pgvector.NewVector(e.Vector)
	}
	return s.retryTx(ctx, "put embeddings", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, putEmbeddingsSQL, products, models, modalities, hashes, vecs); err != nil {
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
// the graph and with the configured parallel workers, and then refreshes
// the embeddings' planner statistics. It is idempotent: when the index
// exists it does nothing.
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
		// As for a space's index: without statistics after a bulk load the
		// planner would scan every embedding instead of using the index.
		if _, err := tx.Exec(ctx, `ANALYZE embeddings`); err != nil {
			return fmt.Errorf("analyze embeddings: %w", err)
		}
		return nil
	})
}

// DropModelIndex drops one model's HNSW index (EnsureModelIndex's) if it
// exists and reports whether it did: a bulk load drops it before loading
// and builds it once afterwards. Queries stay correct without it (exact
// scans), only slower.
func (s *Store) DropModelIndex(ctx context.Context, model string) (existed bool, err error) {
	return s.dropIndex(ctx, modelIndexName(model))
}
