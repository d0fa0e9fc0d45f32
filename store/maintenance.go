package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/vitrinehq/vitrine/records"
)

// JobDriver returns a River driver on the store's pool, so the job queue
// shares the database (and its transactions) without the pool leaving the
// store.
func (s *Store) JobDriver() riverdriver.Driver[pgx.Tx] { return riverpgxv5.New(s.pool) }

// PendingJobs counts the River jobs of queue that are not finished yet
// (available, pending, running, retryable or scheduled).
func (s *Store) PendingJobs(ctx context.Context, queue string) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE queue = $1
		AND state IN ('available', 'pending', 'running', 'retryable', 'scheduled')`, queue).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count pending jobs: %w", err)
	}
	return n, nil
}

// Analyze refreshes the planner's statistics for the whole database (after
// a bulk load, so the first queries are planned on real row counts).
func (s *Store) Analyze(ctx context.Context) error {
	if _, err := s.pool.Exec(ctx, `ANALYZE`); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	return nil
}

// DatabaseSize is the on-disk size of the database in bytes.
func (s *Store) DatabaseSize(ctx context.Context) (int64, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT pg_database_size(current_database())`).Scan(&n); err != nil {
		return 0, fmt.Errorf("database size: %w", err)
	}
	return n, nil
}

// SpaceIndexScans is how many scans PostgreSQL has counted on the HNSW index
// of space version (0 when the space has no index). The statistics
// collector updates it asynchronously, so a difference between two reads
// shows whether queries used the index, not an exact count.
func (s *Store) SpaceIndexScans(ctx context.Context, version int) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT COALESCE(sum(idx_scan), 0)::bigint FROM pg_stat_user_indexes
		WHERE indexrelname = $1`, spaceIndexName(version)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("index scans of space %d: %w", version, err)
	}
	return n, nil
}

// SetDatabaseComment stores text as the database's own comment (COMMENT ON
// DATABASE), where it survives reconnections and is seen by any later run
// on the same database.
func (s *Store) SetDatabaseComment(ctx context.Context, text string) error {
	var ddl string
	err := s.pool.QueryRow(ctx, `SELECT format('COMMENT ON DATABASE %I IS %L', current_database(), $1::text)`, text).Scan(&ddl)
	if err != nil {
		return fmt.Errorf("database comment: %w", err)
	}
	if _, err := s.pool.Exec(ctx, ddl); err != nil {
		return fmt.Errorf("database comment: %w", err)
	}
	return nil
}

// DatabaseComment reads what SetDatabaseComment stored; records.ErrNotFound when
// the database has no comment.
func (s *Store) DatabaseComment(ctx context.Context) (string, error) {
	var c *string
	err := s.pool.QueryRow(ctx, `SELECT shobj_description(oid, 'pg_database') FROM pg_database
		WHERE datname = current_database()`).Scan(&c)
	if err != nil {
		return "", fmt.Errorf("database comment: %w", err)
	}
	if c == nil {
		return "", fmt.Errorf("database comment: %w", records.ErrNotFound)
	}
	return *c, nil
}

// PrepareDatabase makes sure database name exists on the server of
// serverURL (any database there the user may connect to) and returns its
// URL. An existing database is dropped and created afresh unless reuse is
// set; reused reports whether the existing one was kept.
func PrepareDatabase(ctx context.Context, serverURL, name string, reuse bool) (dbURL string, reused bool, err error) {
	if name == "" {
		return "", false, errors.New("prepare database: empty name")
	}
	u, err := url.Parse(serverURL)
	if err != nil {
		return "", false, fmt.Errorf("parse database URL: %w", err)
	}
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return "", false, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return "", false, fmt.Errorf("look up database %s: %w", name, err)
	}
	ident := pgx.Identifier{name}.Sanitize()
	if exists && !reuse {
		if _, err := conn.Exec(ctx, "DROP DATABASE "+ident+" WITH (FORCE)"); err != nil {
			return "", false, fmt.Errorf("drop database %s: %w", name, err)
		}
		exists = false
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident); err != nil {
			return "", false, fmt.Errorf("create database %s: %w", name, err)
		}
	}
	u.Path = "/" + name
	return u.String(), exists, nil
}
