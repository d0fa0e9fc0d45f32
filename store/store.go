// Package store keeps Vitrine's state in PostgreSQL with pgvector: products,
// per-model embeddings, versioned vector spaces, users, events, user vectors
// and API keys. It is the only package that speaks SQL.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	pgxvec "github.com/pgvector/pgvector-go/pgx"

	"github.com/vitrinehq/vitrine/migrations"
	"github.com/vitrinehq/vitrine/records"
)

// Store is a handle on the database; safe for concurrent use.
type Store struct {
	pool     *pgxpool.Pool
	log      *slog.Logger
	indexMem string
	// indexWorkers is max_parallel_maintenance_workers for HNSW builds;
	// negative leaves the server's setting.
	indexWorkers int
	// hnswM and hnswEfc are the graph parameters of every HNSW build.
	hnswM, hnswEfc int
	retry          retryPolicy // of the write transactions that retryTx runs
	// shapes caches each space's dimension and storage by version
	// (shapeOf).
	shapes sync.Map
}

type options struct {
	maxConns     int32
	migrate      bool
	log          *slog.Logger
	indexMem     string
	indexWorkers int
	hnswM        int
	hnswEfc      int
	txAttempts   int
}

// Option configures Open.
type Option func(*options)

// WithMaxConns bounds the connection pool.
func WithMaxConns(n int) Option { return func(o *options) { o.maxConns = int32(n) } }

// WithMigrate applies pending migrations before the pool is opened.
func WithMigrate() Option { return func(o *options) { o.migrate = true } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithIndexBuildMemory sets maintenance_work_mem for HNSW index builds: a
// PostgreSQL size such as "2GB", or "auto" (AutoIndexBuildMemory) to size
// each build from the rows and dimensions it indexes. pgvector builds the
// graph in memory while it fits and falls back to a far slower on-disk
// build when it does not: a million 100-d vectors need about 1.4 GB.
func WithIndexBuildMemory(size string) Option {
	return func(o *options) {
		if size != "" {
			o.indexMem = size
		}
	}
}

// WithIndexBuildWorkers sets max_parallel_maintenance_workers for HNSW
// builds: the parallel workers that build the graph beside the leader
// (0: the leader alone). Without it the server's setting applies.
func WithIndexBuildWorkers(n int) Option { return func(o *options) { o.indexWorkers = max(n, 0) } }

// DefaultIndexBuildMemory is used when WithIndexBuildMemory is not given.
const DefaultIndexBuildMemory = AutoIndexBuildMemory

// Open connects to url. pgvector's types are registered on every
// connection, so the schema (at least the vector extension) must exist:
// pass WithMigrate to create it.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	o := options{maxConns: 8, log: slog.New(slog.DiscardHandler), indexMem: DefaultIndexBuildMemory, indexWorkers: -1,
		hnswM: DefaultHNSWM, hnswEfc: DefaultHNSWEfConstruction, txAttempts: DefaultTxAttempts}
	for _, f := range opts {
		f(&o)
	}
	if err := errors.Join(checkIndexBuildMemory(o.indexMem), CheckHNSWGraph(o.hnswM, o.hnswEfc)); err != nil {
		return nil, err
	}
	if o.migrate {
		if _, err := Migrate(ctx, url, o.log); err != nil {
			return nil, err
		}
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database URL: %w", err)
	}
	cfg.MaxConns = o.maxConns
	cfg.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
		if err := pgxvec.RegisterTypes(ctx, conn); err != nil {
			return fmt.Errorf("%w: %w (run `vitrine db migrate`)", records.ErrNoPgvector, err)
		}
		return nil
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect: %w", err)
	}
	return &Store{pool: pool, log: o.log, indexMem: o.indexMem, indexWorkers: o.indexWorkers,
		hnswM: o.hnswM, hnswEfc: o.hnswEfc, retry: retryPolicy{attempts: o.txAttempts, backoff: defaultTxBackoff}}, nil
}

// Migrate applies pending migrations on a short-lived pool that does not
// need the vector type to exist yet.
func Migrate(ctx context.Context, url string, log *slog.Logger) ([]migrations.Result, error) {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("connect for migration: %w", err)
	}
	defer pool.Close()
	return migrations.Up(ctx, pool, log)
}

// Close releases the pool.
func (s *Store) Close() { s.pool.Close() }

// Ping checks the database is reachable (for /readyz).
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// Info reads versions of the server, pgvector and the schema.
func (s *Store) Info(ctx context.Context) (records.Info, error) {
	var i records.Info
	err := s.pool.QueryRow(ctx, `SELECT current_setting('server_version'),
		COALESCE((SELECT extversion FROM pg_extension WHERE extname = 'vector'), '')`).Scan(&i.ServerVersion, &i.PgvectorVersion)
	if err != nil {
		return i, fmt.Errorf("server info: %w", err)
	}
	v, err := migrations.Version(ctx, s.pool)
	if err != nil {
		return i, err
	}
	i.SchemaVersion = v
	return i, nil
}

// inTx runs fn in a transaction, committing on success. It runs fn once:
// write paths that two writers may run at the same time and whose fn is
// safe to run again use retryTx.
func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}

// pgCode returns the SQLSTATE of a PostgreSQL error, or "".
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// SQLSTATE codes the store maps to typed errors.
const (
	codeForeignKey = "23503"
	codeUnique     = "23505"
	codeCheck      = "23514"
)
