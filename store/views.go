package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"

	"github.com/vitrinehq/vitrine/records"
)

// PutImageViews upserts extra image views of products for one image
// model (keyed by product and view). Products must exist.
func (s *Store) PutImageViews(ctx context.Context, model string, vs []records.ImageView) error {
	if len(vs) == 0 {
		return nil
	}
	ids := make([]string, len(vs))
	for i, v := range vs {
		if len(v.Vector) == 0 {
			return &records.DimensionError{What: fmt.Sprintf("view %q of product %q", v.View, v.ProductID), Want: 1, Got: 0}
		}
		ids[i] = v.ProductID
	}
	if err := s.checkProductsExist(ctx, ids); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, v := range vs {
			b.Queue(`INSERT INTO image_views (product_id, model, view, source, embedding) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (model, product_id, view) DO UPDATE SET source = EXCLUDED.source,
					embedding = EXCLUDED.embedding, created_at = now()`,
				v.ProductID, model, v.View, v.Source, pgvector.NewVector(v.Vector))
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("put image views: %w", err)
		}
		return nil
	})
}

// DeleteImageViews removes one model's extra views that came from source
// with their keypoints, and returns how many views there were.
func (s *Store) DeleteImageViews(ctx context.Context, model, source string) (int64, error) {
	var n int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM image_views WHERE model = $1 AND source = $2`, model, source)
		if err != nil {
			return fmt.Errorf("delete image views: %w", err)
		}
		n = tag.RowsAffected()
		// The views' keypoints go with them (a catalog image's stay).
		if _, err := tx.Exec(ctx, `DELETE FROM image_keypoints WHERE source = $1 AND view <> $2`, source, records.ViewCatalog); err != nil {
			return fmt.Errorf("delete image keypoints: %w", err)
		}
		return nil
	})
	return n, err
}

// ImageViews returns every view of the live products for one image model:
// each product's catalog embedding (View and Source records.ViewCatalog),
// then its extra views.
func (s *Store) ImageViews(ctx context.Context, model string) ([]records.ImageView, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT e.product_id, $2::text, $2::text, e.embedding FROM embeddings e JOIN products p ON p.id = e.product_id
		WHERE e.model = $1 AND p.deleted_at IS NULL
		UNION ALL
		SELECT v.product_id, v.view, v.source, v.embedding FROM image_views v JOIN products p ON p.id = v.product_id
		WHERE v.model = $1 AND p.deleted_at IS NULL`, model, records.ViewCatalog)
	if err != nil {
		return nil, fmt.Errorf("image views: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (records.ImageView, error) {
		var v records.ImageView
		var vec pgvector.Vector
		err := r.Scan(&v.ProductID, &v.View, &v.Source, &vec)
		v.Vector = vec.Slice()
		return v, err
	})
}

// ImageViewsVersion is a cheap fingerprint of what ImageViews returns for
// a model: it changes when an embedding or view of the model is written or
// removed, keypoints are written or removed, or a product changes (the products change log), so a cached
// copy knows when to reload.
func (s *Store) ImageViewsVersion(ctx context.Context, model string) (string, error) {
	var v string
	err := s.pool.QueryRow(ctx, `SELECT concat_ws('/',
		(SELECT count(*) || ':' || coalesce(max(created_at)::text, '') FROM embeddings WHERE model = $1),
		(SELECT count(*) || ':' || coalesce(max(created_at)::text, '') FROM image_views WHERE model = $1),
		(SELECT count(*) || ':' || coalesce(max(created_at)::text, '') FROM image_keypoints),
		(SELECT coalesce(max(seq), 0) FROM product_changes))`, model).Scan(&v)
	if err != nil {
		return "", fmt.Errorf("image views version: %w", err)
	}
	return v, nil
}
