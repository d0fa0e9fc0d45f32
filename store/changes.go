package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vitrinehq/vitrine/records"
)

// ProductChangesChannel is the NOTIFY channel of the products change log.
const ProductChangesChannel = "vitrine_product_changes"

// ProductChangesAfter returns up to limit change-log rows with sequence
// numbers above after, in order.
func (s *Store) ProductChangesAfter(ctx context.Context, after int64, limit int) ([]records.ProductChange, error) {
	rows, err := s.pool.Query(ctx, `SELECT seq, product_id, deleted, changed_at FROM product_changes
		WHERE seq > $1 ORDER BY seq LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("product changes: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (records.ProductChange, error) {
		var c records.ProductChange
		err := r.Scan(&c.Seq, &c.ProductID, &c.Deleted, &c.At)
		return c, err
	})
}

// ProductChangeSeqBefore returns the sequence number just below the first
// change written at or after t (the last sequence number when there is
// none; 0 for an empty log): reading the changes after it replays
// everything written since t.
func (s *Store) ProductChangeSeqBefore(ctx context.Context, t time.Time) (int64, error) {
	var seq int64
	err := s.pool.QueryRow(ctx, `SELECT COALESCE(
			(SELECT min(seq) - 1 FROM product_changes WHERE changed_at >= $1),
			(SELECT max(seq) FROM product_changes), 0)`, t).Scan(&seq)
	if err != nil {
		return 0, fmt.Errorf("product change sequence: %w", err)
	}
	return seq, nil
}

// ListenProductChanges calls wake after each committed transaction that
// changed products, until ctx ends (then it returns ctx's error) or the
// connection fails. It holds one pool connection while it runs.
func (s *Store) ListenProductChanges(ctx context.Context, wake func()) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer func() {
		// The connection still LISTENs: close it rather than reuse it.
		_ = conn.Conn().Close(context.Background())
		conn.Release()
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+ProductChangesChannel); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	wake() // changes made before LISTEN took effect are not lost
	for {
		if _, err := conn.Conn().WaitForNotification(ctx); err != nil {
			return fmt.Errorf("listen: %w", err)
		}
		wake()
	}
}

// trimBatch is how many change-log rows one trimming statement deletes,
// so a long backlog is dropped in short transactions that neither hold
// locks for long nor bloat one WAL record.
const trimBatch = 10000

// DeleteProductChangesBefore drops change-log rows written before t (every
// reader has long applied them: lexical.Syncer trims rows older than its
// retention), oldest first in batches; it returns how many it dropped.
func (s *Store) DeleteProductChangesBefore(ctx context.Context, t time.Time) (int64, error) {
	var total int64
	for {
		tag, err := s.pool.Exec(ctx, `DELETE FROM product_changes WHERE seq IN (
			SELECT seq FROM product_changes WHERE changed_at < $1 ORDER BY changed_at LIMIT $2)`, t, trimBatch)
		if err != nil {
			return total, fmt.Errorf("trim product changes: %w", err)
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < trimBatch {
			return total, nil
		}
	}
}
