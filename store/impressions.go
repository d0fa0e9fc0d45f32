package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vitrinehq/vitrine/records"
)

// Surfaces lists every surface, in report order (records.Surfaces).
func Surfaces() []string { return records.Surfaces() }

// InsertImpressions writes a batch of impressions in one transaction,
// creating named users first (so erasing a user erases their
// impressions). Impressions of a user erased after they were served (a
// tombstone newer than served_at: another server forgot the user while
// this batch waited) are dropped. Re-inserting an impression is harmless:
// a retried batch whose first try did commit changes nothing.
func (s *Store) InsertImpressions(ctx context.Context, imps []records.Impression) error {
	if len(imps) == 0 {
		return nil
	}
	var users []string
	for _, im := range imps {
		if im.UserID != "" {
			users = append(users, im.UserID)
		}
	}
	// A fixed order keeps concurrent batches (and event inserts) from
	// deadlocking on the users they share.
	slices.Sort(users)
	users = slices.Compact(users)
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var forgotten map[string]time.Time
		if len(users) > 0 {
			// Locked first, so an erasure cannot slip between the
			// tombstone check and the insert.
			if err := lockUsers(ctx, tx, users); err != nil {
				return err
			}
			var err error
			if forgotten, err = tombstones(ctx, tx, users); err != nil {
				return err
			}
		}
		keep := imps[:0:0]
		live := map[string]bool{}
		for _, im := range imps {
			if at, ok := forgotten[im.UserID]; ok && !im.ServedAt.After(at) {
				continue
			}
			keep = append(keep, im)
			if im.UserID != "" {
				live[im.UserID] = true
			}
		}
		if len(keep) == 0 {
			return nil
		}
		b := &pgx.Batch{}
		if len(live) > 0 {
			ids := make([]string, 0, len(live))
			for _, u := range users {
				if live[u] {
					ids = append(ids, u)
				}
			}
			b.Queue(`INSERT INTO users (id) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING`, ids)
		}
		for _, im := range keep {
			pids := im.ProductIDs
			if pids == nil {
				pids = []string{}
			}
			b.Queue(`INSERT INTO impressions (id, user_id, surface, experiment, variant, product_ids, served_at)
				VALUES ($1::uuid, NULLIF($2, ''), $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
				im.ID, im.UserID, im.Surface, im.Experiment, im.Variant, pids, im.ServedAt)
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("insert %d impressions: %w", len(keep), err)
		}
		return nil
	})
}

// tombstones returns when each of users was last erased, for those with a
// tombstone.
func tombstones(ctx context.Context, tx pgx.Tx, users []string) (map[string]time.Time, error) {
	rows, err := tx.Query(ctx, `SELECT u, f.forgotten_at FROM unnest($1::text[]) AS u
		JOIN forgotten_users f ON f.user_hash = sha256(convert_to(u, 'UTF8'))`, users)
	if err != nil {
		return nil, fmt.Errorf("erasure tombstones: %w", err)
	}
	out := map[string]time.Time{}
	for rows.Next() {
		var u string
		var at time.Time
		if err := rows.Scan(&u, &at); err != nil {
			rows.Close()
			return nil, fmt.Errorf("erasure tombstones: %w", err)
		}
		out[u] = at
	}
	return out, rows.Err()
}

// ImpressionUsers returns, for each of ids that is stored, the user it was
// served to ("" for anonymous requests). ids must be UUIDs.
func (s *Store) ImpressionUsers(ctx context.Context, ids []string) (map[string]string, error) {
	out := map[string]string{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT id::text, COALESCE(user_id, '') FROM impressions WHERE id = ANY ($1::uuid[])`, ids)
	if err != nil {
		return nil, fmt.Errorf("look up impressions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, user string
		if err := rows.Scan(&id, &user); err != nil {
			return nil, fmt.Errorf("look up impressions: %w", err)
		}
		out[id] = user
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("look up impressions: %w", err)
	}
	return out, nil
}

// pruneChunk bounds each delete of a prune, so no single statement holds
// locks or bloats WAL for long.
const pruneChunk = 10000

// PruneImpressions deletes impressions served before the cutoff, in
// chunks, and returns how many went.
func (s *Store) PruneImpressions(ctx context.Context, before time.Time) (int64, error) {
	return s.pruneBefore(ctx, `DELETE FROM impressions WHERE id IN (
		SELECT id FROM impressions WHERE served_at < $1 LIMIT $2)`, before, "impressions")
}

// PruneQueries deletes logged search queries made before the cutoff, in
// chunks, and returns how many went.
func (s *Store) PruneQueries(ctx context.Context, before time.Time) (int64, error) {
	return s.pruneBefore(ctx, `DELETE FROM queries WHERE id IN (
		SELECT id FROM queries WHERE created_at < $1 LIMIT $2)`, before, "queries")
}

// pruneBefore runs a chunked delete (parameters: cutoff, chunk size) until
// a chunk comes back short.
func (s *Store) pruneBefore(ctx context.Context, del string, before time.Time, what string) (int64, error) {
	var total int64
	for {
		tag, err := s.pool.Exec(ctx, del, before, pruneChunk)
		if err != nil {
			return total, fmt.Errorf("prune %s: %w", what, err)
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < pruneChunk {
			return total, nil
		}
	}
}

// OnlineMetrics counts, per experiment, variant and surface (and per
// variant over all surfaces), the lists served and how many led to a
// click and to a purchase.
//
// Attribution, for events of type click and purchase:
//   - exact: an event that names an impression (impression_id) counts for
//     that impression when it happened before served_at + window (no lower
//     bound, so clients with a skewed clock are not penalised), whatever
//     the product;
//   - by window: an event without impression_id counts for the latest
//     impression served to the same user that showed the event's product,
//     served at most one window before the event (last touch: one event
//     credits at most one list).
//
// The click window applies to clicks, the conversion window to purchases.
func (s *Store) OnlineMetrics(ctx context.Context, q records.OnlineQuery) ([]records.OnlineCount, error) {
	rows, err := s.pool.Query(ctx, `
WITH imp AS (
    SELECT id, user_id, surface, experiment, variant, served_at
    FROM impressions
    WHERE served_at >= $1 AND served_at < $2
      AND ($3::text = '' OR experiment = $3::text)
      AND ($4::text = '' OR surface = $4::text)
),
attributed AS (
    SELECT i.id, e.type
    FROM imp i
    JOIN events e ON e.impression_id = i.id
    WHERE e.type IN ('click', 'purchase')
      AND e.occurred_at < i.served_at + CASE WHEN e.type = 'click' THEN $5::float8 ELSE $6::float8 END * interval '1 second'
  UNION ALL
    SELECT last.id, e.type
    FROM events e
    CROSS JOIN LATERAL (
        SELECT x.id FROM impressions x
        WHERE x.user_id = e.user_id
          AND e.product_id = ANY (x.product_ids)
          AND x.served_at <= e.occurred_at
          AND x.served_at > e.occurred_at - CASE WHEN e.type = 'click' THEN $5::float8 ELSE $6::float8 END * interval '1 second'
        ORDER BY x.served_at DESC, x.id DESC
        LIMIT 1
    ) last
    WHERE e.impression_id IS NULL
      AND e.type IN ('click', 'purchase')
      AND e.user_id IN (SELECT user_id FROM imp WHERE user_id IS NOT NULL)
      AND e.occurred_at >= $1
      AND e.occurred_at < $2 + greatest($5::float8, $6::float8) * interval '1 second'
),
flags AS (
    SELECT id, bool_or(type = 'click') AS clicked, bool_or(type = 'purchase') AS converted
    FROM attributed
    GROUP BY id
)
SELECT i.experiment, i.variant, COALESCE(i.surface, ''),
       count(*) FILTER (WHERE $7::bool OR i.user_id IS NOT NULL),
       count(DISTINCT i.user_id),
       count(*) FILTER (WHERE ($7::bool OR i.user_id IS NOT NULL) AND f.clicked),
       count(*) FILTER (WHERE ($7::bool OR i.user_id IS NOT NULL) AND f.converted),
       count(*) FILTER (WHERE i.user_id IS NULL)
FROM imp i
LEFT JOIN flags f ON f.id = i.id
GROUP BY GROUPING SETS ((i.experiment, i.variant, i.surface), (i.experiment, i.variant))
ORDER BY 1, 2, 3`,
		q.Since, q.Until, q.Experiment, q.Surface, q.ClickWindow.Seconds(), q.ConversionWindow.Seconds(), q.IncludeAnonymous)
	if err != nil {
		return nil, fmt.Errorf("online metrics: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (records.OnlineCount, error) {
		var c records.OnlineCount
		err := r.Scan(&c.Experiment, &c.Variant, &c.Surface, &c.Lists, &c.Users, &c.Clicked, &c.Converted, &c.Anonymous)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("online metrics: %w", err)
	}
	return out, nil
}
