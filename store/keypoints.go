package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/vitrinehq/vitrine/records"
)

// PutImageKeypoints upserts the local features of product views (keyed
// by product and view). Products must exist.
func (s *Store) PutImageKeypoints(ctx context.Context, ks []records.ImageKeypoints) error {
	if len(ks) == 0 {
		return nil
	}
	ids := make([]string, len(ks))
	for i, k := range ks {
		ids[i] = k.ProductID
	}
	if err := s.checkProductsExist(ctx, ids); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, k := range ks {
			b.Queue(`INSERT INTO image_keypoints (product_id, view, source, data) VALUES ($1, $2, $3, $4)
				ON CONFLICT (product_id, view) DO UPDATE SET source = EXCLUDED.source, data = EXCLUDED.data, created_at = now()`,
				k.ProductID, k.View, k.Source, k.Data)
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("put image keypoints: %w", err)
		}
		return nil
	})
}

// ImageKeypoints returns the local features of every view of the live
// products whose view is catalog's or, with views, an extra view's.
func (s *Store) ImageKeypoints(ctx context.Context, views bool) ([]records.ImageKeypoints, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT k.product_id, k.view, k.source, k.data FROM image_keypoints k JOIN products p ON p.id = k.product_id
		WHERE p.deleted_at IS NULL AND ($1 OR k.view = $2)`, views, records.ViewCatalog)
	if err != nil {
		return nil, fmt.Errorf("image keypoints: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (records.ImageKeypoints, error) {
		var k records.ImageKeypoints
		err := r.Scan(&k.ProductID, &k.View, &k.Source, &k.Data)
		return k, err
	})
}

// WithoutCatalogKeypoints returns those of ids whose catalog image has no
// stored keypoints (the products the indexer has still to extract).
func (s *Store) WithoutCatalogKeypoints(ctx context.Context, ids []string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT id FROM unnest($1::text[]) AS id
		WHERE NOT EXISTS (SELECT 1 FROM image_keypoints k WHERE k.product_id = id AND k.view = $2)`, ids, records.ViewCatalog)
	if err != nil {
		return nil, fmt.Errorf("products without keypoints: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
