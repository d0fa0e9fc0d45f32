package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/records"
)

// InsertEvents appends validated events idempotently. Users are created on
// first sight. An event naming an unknown product fails alone with an
// *UnknownProductError; the rest land.
func (s *Store) InsertEvents(ctx context.Context, events []catalog.Event) ([]records.EventResult, error) {
	if len(events) == 0 {
		return nil, nil
	}
	res := make([]records.EventResult, len(events))
	pids := make([]string, 0, len(events))
	uids := make([]string, 0, len(events))
	for _, e := range events {
		pids = append(pids, e.ProductID)
		uids = append(uids, e.UserID)
	}
	known, err := s.liveProducts(ctx, pids)
	if err != nil {
		return nil, err
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO users (id) SELECT DISTINCT unnest($1::text[]) ON CONFLICT DO NOTHING`, uids); err != nil {
			return fmt.Errorf("create users: %w", err)
		}
		b := &pgx.Batch{}
		var queued []int
		for i, e := range events {
			if !known[e.ProductID] {
				res[i] = records.EventResult{Status: records.EventFailed, Err: &records.UnknownProductError{IDs: []string{e.ProductID}}}
				continue
			}
			queued = append(queued, i)
			b.Queue(`INSERT INTO events (client_event_id, user_id, product_id, type, value, occurred_at, impression_id)
				VALUES ($1, $2, $3, $4, $5, $6, NULLIF($7, '')::uuid) ON CONFLICT (user_id, client_event_id) DO NOTHING RETURNING id`,
				e.ClientEventID, e.UserID, e.ProductID, string(e.Type), e.Value, e.OccurredAt, e.ImpressionID)
		}
		br := tx.SendBatch(ctx, b)
		defer br.Close()
		for _, i := range queued {
			var id int64
			err := br.QueryRow().Scan(&id)
			switch {
			case errors.Is(err, pgx.ErrNoRows):
				res[i] = records.EventResult{Status: records.EventDuplicate}
			case err != nil:
				return fmt.Errorf("insert event %q: %w", events[i].ClientEventID, err)
			default:
				res[i] = records.EventResult{Status: records.EventInserted}
			}
		}
		return br.Close()
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

func (s *Store) liveProducts(ctx context.Context, ids []string) (map[string]bool, error) {
	rows, err := s.pool.Query(ctx, `SELECT id FROM products WHERE id = ANY($1) AND deleted_at IS NULL`, ids)
	if err != nil {
		return nil, fmt.Errorf("look up products: %w", err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("look up products: %w", err)
	}
	m := make(map[string]bool, len(found))
	for _, id := range found {
		m[id] = true
	}
	return m, nil
}

// sqlUserEvents reads a user's ($1) latest events, newest first, at most
// $2, as scanEvent scans them (UserEvents, RecUser).
const sqlUserEvents = `SELECT client_event_id, user_id, product_id, type, value::float8, occurred_at
	FROM events WHERE user_id = $1 ORDER BY occurred_at DESC, id DESC LIMIT $2`

// UserEvents returns a user's most recent events, newest first.
func (s *Store) UserEvents(ctx context.Context, userID string, limit int) ([]catalog.Event, error) {
	rows, err := s.pool.Query(ctx, sqlUserEvents, userID, limit)
	if err != nil {
		return nil, fmt.Errorf("user events: %w", err)
	}
	return pgx.CollectRows(rows, scanEvent)
}

// GetUserVector returns a user's vector in a space.
func (s *Store) GetUserVector(ctx context.Context, userID string, space int) (records.UserVector, error) {
	uv := records.UserVector{UserID: userID, Space: space}
	var v pgvector.Vector
	err := s.pool.QueryRow(ctx, `SELECT COALESCE(embedding, embedding_half::vector), weight, updated_at
		FROM user_vectors WHERE user_id = $1 AND space_version = $2`, userID, space).Scan(&v, &uv.Weight, &uv.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return uv, fmt.Errorf("vector of user %q in space %d: %w", userID, space, records.ErrNotFound)
	}
	if err != nil {
		return uv, fmt.Errorf("get user vector: %w", err)
	}
	uv.Vector = v.Slice()
	return uv, nil
}

// PutUserVector stores a user's vector; the user must exist.
func (s *Store) PutUserVector(ctx context.Context, uv records.UserVector) error {
	sp, err := s.shapeOf(ctx, uv.Space)
	if err != nil {
		return err
	}
	if len(uv.Vector) != sp.dim {
		return &records.DimensionError{What: fmt.Sprintf("user %q in space %d", uv.UserID, uv.Space), Want: sp.dim, Got: len(uv.Vector)}
	}
	col, _ := spaceColumn(sp.storage)
	other := "embedding_half"
	if col == "embedding_half" {
		other = "embedding"
	}
	_, err = s.pool.Exec(ctx, fmt.Sprintf(`INSERT INTO user_vectors (user_id, space_version, %[1]s, weight, updated_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (user_id, space_version) DO UPDATE SET %[1]s = EXCLUDED.%[1]s, %[2]s = NULL,
			weight = EXCLUDED.weight, updated_at = EXCLUDED.updated_at`, col, other),
		uv.UserID, uv.Space, vectorArg(sp.storage, uv.Vector), uv.Weight, uv.UpdatedAt)
	if pgCode(err) == codeForeignKey {
		return fmt.Errorf("user %q: %w", uv.UserID, records.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("put user vector: %w", err)
	}
	return nil
}

// DeleteUser erases a user with everything that names them: events,
// vectors, factors, logged queries and impressions cascade. It leaves a
// tombstone (the id's SHA-256, for a day) so impressions another server
// served the user before this moment are never written after it (see
// InsertImpressions). records.ErrNotFound when no row named the user; the
// tombstone is left either way.
func (s *Store) DeleteUser(ctx context.Context, userID string) error {
	var deleted int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// Serialises with impression writes naming the user.
		if err := lockUsers(ctx, tx, []string{userID}); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM users WHERE id = $1`, userID)
		if err != nil {
			return err
		}
		deleted = tag.RowsAffected()
		_, err = tx.Exec(ctx, `INSERT INTO forgotten_users (user_hash, forgotten_at) VALUES (sha256(convert_to($1, 'UTF8')), now())
			ON CONFLICT (user_hash) DO UPDATE SET forgotten_at = EXCLUDED.forgotten_at`, userID)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete user %q: %w", userID, err)
	}
	if deleted == 0 {
		return fmt.Errorf("user %q: %w", userID, records.ErrNotFound)
	}
	return nil
}

// lockUsers takes a transaction-scoped advisory lock per user id, in
// sorted order so concurrent callers cannot deadlock.
func lockUsers(ctx context.Context, tx pgx.Tx, users []string) error {
	sorted := slices.Clone(users)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('vitrine-user:' || u, 0)) FROM unnest($1::text[]) AS u`, sorted); err != nil {
		return fmt.Errorf("lock users: %w", err)
	}
	return nil
}

// TombstoneTTL is how long an erasure tombstone is kept: far longer than
// any impression waits in a server's write buffer.
const TombstoneTTL = 24 * time.Hour

// PruneTombstones deletes erasure tombstones older than TombstoneTTL.
func (s *Store) PruneTombstones(ctx context.Context, now time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM forgotten_users WHERE forgotten_at < $1`, now.Add(-TombstoneTTL))
	if err != nil {
		return 0, fmt.Errorf("prune tombstones: %w", err)
	}
	return tag.RowsAffected(), nil
}
