package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/records"
)

// RecUser reads what a recommendation starts from in one round trip (one
// batch): the user's purchases, their latest events (newest first, at
// most limit), their vector in space, and the active model's version with
// the user's factors in it, and the digest and age of the user's stored
// retrieval (SaveUserRetrieval; its payload is read by
// UserRetrievalPayload only when the digest is the one wanted and this
// process lacks it). Separately these were four round trips, run
// concurrently on four connections.
func (s *Store) RecUser(ctx context.Context, userID string, space, limit int) (records.RecUser, error) {
	var u records.RecUser
	b := &pgx.Batch{}
	b.Queue(sqlPurchased, userID).
		Query(func(rows pgx.Rows) (err error) {
			u.Purchased, err = pgx.CollectRows(rows, pgx.RowTo[string])
			return err
		})
	b.Queue(sqlUserEvents, userID, limit).
		Query(func(rows pgx.Rows) (err error) {
			u.Events, err = pgx.CollectRows(rows, scanEvent)
			return err
		})
	b.Queue(`SELECT COALESCE(embedding, embedding_half::vector) FROM user_vectors
		WHERE user_id = $1 AND space_version = $2`, userID, space).
		QueryRow(func(row pgx.Row) error {
			var v pgvector.Vector
			err := row.Scan(&v)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			u.Vector = v.Slice()
			return err
		})
	b.Queue(sqlActiveUserFactors, userID).
		QueryRow(func(row pgx.Row) error {
			var f *pgvector.Vector
			err := row.Scan(&u.CFVersion, &f)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			if f != nil {
				u.Factors = f.Slice()
			}
			return err
		})
	b.Queue(`SELECT digest, at FROM user_retrievals WHERE user_id = $1`, userID).
		QueryRow(func(row pgx.Row) error {
			err := row.Scan(&u.Retrieval.Digest, &u.Retrieval.At)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			return err
		})
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return records.RecUser{}, fmt.Errorf("recommendation user reads: %w", err)
	}
	return u, nil
}

// UserRetrievalPayload returns the payload of the user's stored
// retrieval when it was made from inputs with this digest; nil when not.
func (s *Store) UserRetrievalPayload(ctx context.Context, userID string, digest []byte) ([]byte, error) {
	var p []byte
	err := s.pool.QueryRow(ctx, `SELECT payload FROM user_retrievals WHERE user_id = $1 AND digest = $2`, userID, digest).Scan(&p)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("retrieval of user %q: %w", userID, err)
	}
	return p, nil
}

// PruneUserRetrievals empties the payloads of the retrievals stored
// before the time given (no process serves them once older than its
// retrieval TTL), keeping each row's digest and time: a user's row says
// they have asked for recommendations, which their events' refreshes
// read. It returns how many payloads it emptied.
func (s *Store) PruneUserRetrievals(ctx context.Context, before time.Time) (int64, error) {
	// octet_length reads a stored value's size without fetching it.
	tag, err := s.pool.Exec(ctx, `UPDATE user_retrievals SET payload = ''::bytea WHERE at < $1 AND octet_length(payload) > 0`, before)
	if err != nil {
		return 0, fmt.Errorf("prune stored retrievals: %w", err)
	}
	return tag.RowsAffected(), nil
}

// SaveUserRetrieval keeps a user's retrieval where every process reads it
// (RecUser), replacing the one stored. A user unknown to the store (never
// seen an event, or erased meanwhile) gets none: the row is erased with
// the user, and an erasure racing a refresh must not leave one behind.
func (s *Store) SaveUserRetrieval(ctx context.Context, userID string, r records.StoredRetrieval) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO user_retrievals (user_id, digest, payload, at)
		SELECT id, $2, $3, $4 FROM users WHERE id = $1
		ON CONFLICT (user_id) DO UPDATE SET digest = EXCLUDED.digest, payload = EXCLUDED.payload, at = EXCLUDED.at`,
		userID, r.Digest, r.Payload, r.At)
	if pgCode(err) == codeForeignKey {
		return nil // erased between the check and the insert
	}
	if err != nil {
		return fmt.Errorf("save retrieval of user %q: %w", userID, err)
	}
	return nil
}

// scanEvent scans an event row (client_event_id, user_id, product_id,
// type, value, occurred_at).
func scanEvent(r pgx.CollectableRow) (catalog.Event, error) {
	var e catalog.Event
	var t string
	err := r.Scan(&e.ClientEventID, &e.UserID, &e.ProductID, &t, &e.Value, &e.OccurredAt)
	e.Type = catalog.EventType(t)
	return e, err
}

// CandidateFeatures reads the brand and category of the live products
// among ids, and the fused vectors in space and item factors in the model
// version (0: none) of every id that has them, in one query: instead of
// the candidates' full products (JSON attributes and media decoded for
// ~75 products of which a list keeps 10), their vectors and their factors
// in three. Ids with none of these are absent.
func (s *Store) CandidateFeatures(ctx context.Context, space, version int, ids []string) (map[string]records.CandidateFeatures, error) {
	rows, err := s.pool.Query(ctx, `SELECT x.id, p.id IS NOT NULL, COALESCE(p.brand, ''), p.category,
		COALESCE(v.embedding, v.embedding_half::vector), f.factors
		FROM unnest($1::text[]) AS x(id)
		LEFT JOIN products p ON p.id = x.id AND p.deleted_at IS NULL
		LEFT JOIN product_vectors v ON v.space_version = $2 AND v.product_id = x.id
		LEFT JOIN item_factors f ON f.model_version = $3 AND f.product_id = x.id
		WHERE p.id IS NOT NULL OR v.product_id IS NOT NULL OR f.product_id IS NOT NULL`, ids, space, version)
	if err != nil {
		return nil, fmt.Errorf("candidate features: %w", err)
	}
	defer rows.Close()
	out := make(map[string]records.CandidateFeatures, len(ids))
	for rows.Next() {
		var id string
		var c records.CandidateFeatures
		var v, f *pgvector.Vector
		if err := rows.Scan(&id, &c.Live, &c.Brand, &c.Category, &v, &f); err != nil {
			return nil, fmt.Errorf("scan candidate features: %w", err)
		}
		if len(c.Category) == 0 {
			c.Category = nil
		}
		if v != nil {
			c.Vector = v.Slice()
		}
		if f != nil {
			c.Factors = f.Slice()
		}
		out[id] = c
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("candidate features: %w", err)
	}
	return out, nil
}

// RecentRetrievalUsers returns the users whose retrievals were stored
// most recently (SaveUserRetrieval), the latest first, at most n.
func (s *Store) RecentRetrievalUsers(ctx context.Context, n int) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT user_id FROM user_retrievals ORDER BY at DESC, user_id LIMIT $1`, n)
	if err != nil {
		return nil, fmt.Errorf("recent retrieval users: %w", err)
	}
	users, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("recent retrieval users: %w", err)
	}
	return users, nil
}
