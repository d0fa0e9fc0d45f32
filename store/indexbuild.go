package store

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/vitrinehq/vitrine/records"
)

// AutoIndexBuildMemory sizes maintenance_work_mem for each HNSW build from
// the rows and dimensions it indexes (IndexBuildMemoryFor), so the graph
// is built in memory: pgvector falls back to inserting the rest of the
// rows on disk, many times slower, once the graph outgrows it ("hnsw graph
// no longer fits into maintenance_work_mem").
const AutoIndexBuildMemory = "auto"

// Graph parameters of every HNSW index the store builds (WithHNSWGraph):
// m, the neighbours an element keeps on each level above the base (2m on
// level 0), and ef_construction, the candidates each insertion examines.
// A build's cost grows with ef_construction; the graph's size and the
// build memory with m.
const (
	// DefaultHNSWM is pgvector's default m.
	DefaultHNSWM = 16
	// DefaultHNSWEfConstruction is pgvector's default ef_construction,
	// kept because below it recall@10 at ef_search 80 (what serving
	// uses) fell faster than build CPU: at 100,000 vectors 48 saved 13%
	// of the CPU time for 0.015 of recall, 32 saved 31% for 0.04
	// (BENCHMARKS.md, "Graph parameters").
	DefaultHNSWEfConstruction = 64
)

// Sizing constants of the in-memory graph.
const (
	// candidateBytes is one neighbour slot of pgvector's in-memory graph
	// (pointer, distance, flag); level 0 holds 2m of them, upper levels m.
	candidateBytes = 16
	// elementBytes is the fixed part of an in-memory element (its struct,
	// level array and allocation headers).
	elementBytes = 128
	// Bounds of an automatic size: enough for two parallel participants
	// (PostgreSQL wants 32 MB each), at most what a build may ask of a
	// machine that also serves.
	minAutoIndexMemory = int64(64) << 20
	maxAutoIndexMemory = int64(8) << 30
)

// IndexBuildMemoryFor is the maintenance_work_mem, in bytes, that lets
// pgvector keep the HNSW graph of rows vectors of dims dimensions in
// memory with m neighbours a level: per element its value (4 bytes a
// dimension, 2 for halfvec), its neighbour lists (2m at level 0, m on the
// levels above that about one element in m reaches) and fixed overhead,
// plus a quarter for the memory context's slack and 32 MB for the build
// itself. It stays between 64 MB and 8 GB.
func IndexBuildMemoryFor(rows int64, dims, bytesPerDim, m int) int64 {
	// Upper levels add about m/(m-1) slots an element: 2 with the headers.
	neighbours := candidateBytes * (2*m + 2)
	per := int64(elementBytes + neighbours + 8 + dims*bytesPerDim)
	need := rows*per*5/4 + 32<<20
	return min(max(need, minAutoIndexMemory), maxAutoIndexMemory)
}

var pgSizeForm = regexp.MustCompile(`^[0-9]+ ?(kB|MB|GB|TB)$`)

// checkIndexBuildMemory accepts "auto" or a PostgreSQL size.
func checkIndexBuildMemory(size string) error {
	if size == AutoIndexBuildMemory || pgSizeForm.MatchString(size) {
		return nil
	}
	return fmt.Errorf("index build memory %q: want auto or a size such as 512MB or 2GB", size)
}

// WithHNSWGraph sets the graph parameters of every HNSW index the store
// builds from then on (DefaultHNSWM and DefaultHNSWEfConstruction without
// it); indexes already built keep theirs. Open rejects what
// CheckHNSWGraph does.
func WithHNSWGraph(m, efConstruction int) Option {
	return func(o *options) { o.hnswM, o.hnswEfc = m, efConstruction }
}

// ErrHNSWGraph marks graph parameters pgvector refuses.
var ErrHNSWGraph = errors.New("invalid HNSW graph parameters")

// CheckHNSWGraph accepts what pgvector builds: m from 2 to 100 and
// ef_construction from 4 to 1000 and at least 2m.
func CheckHNSWGraph(m, efConstruction int) error {
	switch {
	case m < 2 || m > 100:
		return fmt.Errorf("%w: m %d, want 2 to 100", ErrHNSWGraph, m)
	case efConstruction < 4 || efConstruction > 1000:
		return fmt.Errorf("%w: ef_construction %d, want 4 to 1000", ErrHNSWGraph, efConstruction)
	case efConstruction < 2*m:
		return fmt.Errorf("%w: ef_construction %d is below 2m = %d", ErrHNSWGraph, efConstruction, 2*m)
	}
	return nil
}

// withGraph is the storage parameters clause that gives an HNSW index the
// store's graph parameters. Only integers are formatted into DDL.
func (s *Store) withGraph() string {
	return fmt.Sprintf(" WITH (m = %d, ef_construction = %d)", s.hnswM, s.hnswEfc)
}

// megabytes formats bytes as a PostgreSQL size in whole MB, rounded up.
func megabytes(b int64) string {
	return strconv.FormatInt((b+(1<<20)-1)>>20, 10) + "MB"
}

// indexBuild describes the HNSW index one build makes: how to count its
// rows and how wide each is.
type indexBuild struct {
	index       string // the index's name, to skip the count when it exists
	count       string // SQL counting the rows it indexes
	args        []any
	dims        int
	bytesPerDim int
}

// prepareIndexBuild sets, for the rest of tx, maintenance_work_mem (the
// configured size, or with auto the graph's size from the rows to index)
// and, when configured, max_parallel_maintenance_workers. It reports
// whether the index already exists, in which case it sets nothing.
func (s *Store) prepareIndexBuild(ctx context.Context, tx pgx.Tx, b indexBuild) (exists bool, err error) {
	if err := tx.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, b.index).Scan(&exists); err != nil {
		return false, fmt.Errorf("look up index %s: %w", b.index, err)
	}
	if exists {
		return true, nil
	}
	size := s.indexMem
	if size == AutoIndexBuildMemory {
		var rows int64
		if err := tx.QueryRow(ctx, b.count, b.args...).Scan(&rows); err != nil {
			return false, fmt.Errorf("count rows for index %s: %w", b.index, err)
		}
		size = megabytes(IndexBuildMemoryFor(rows, b.dims, b.bytesPerDim, s.hnswM))
	}
	if _, err := tx.Exec(ctx, `SELECT set_config('maintenance_work_mem', $1, true)`, size); err != nil {
		return false, fmt.Errorf("index build memory %q: %w", size, err)
	}
	if s.indexWorkers >= 0 {
		if _, err := tx.Exec(ctx, `SELECT set_config('max_parallel_maintenance_workers', $1, true)`, strconv.Itoa(s.indexWorkers)); err != nil {
			return false, fmt.Errorf("index build workers %d: %w", s.indexWorkers, err)
		}
	}
	s.log.Debug("hnsw build", "index", b.index, "maintenance_work_mem", size, "workers", s.indexWorkers, "m", s.hnswM, "ef_construction", s.hnswEfc)
	return false, nil
}

// SpaceIndexFootprint reports a space's HNSW index's footprint.
func (s *Store) SpaceIndexFootprint(ctx context.Context, version int) (records.IndexFootprint, error) {
	f := records.IndexFootprint{M: s.hnswM, EfConstruction: s.hnswEfc}
	sp, err := s.GetSpace(ctx, version)
	if err != nil {
		return f, err
	}
	var rows int64
	var m, efc *int
	err = s.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM product_vectors WHERE space_version = $1),
		COALESCE(pg_relation_size(to_regclass($2)), 0), pg_size_bytes(CASE WHEN $3 = 'auto' THEN '0' ELSE $3 END),
		(SELECT o.option_value::int FROM pg_class c, pg_options_to_table(c.reloptions) o WHERE c.oid = to_regclass($2) AND o.option_name = 'm'),
		(SELECT o.option_value::int FROM pg_class c, pg_options_to_table(c.reloptions) o WHERE c.oid = to_regclass($2) AND o.option_name = 'ef_construction')`,
		version, spaceIndexName(version), s.indexMem).Scan(&rows, &f.IndexBytes, &f.BuildMemory, &m, &efc)
	if err != nil {
		return f, fmt.Errorf("index footprint of space %d: %w", version, err)
	}
	if f.IndexBytes > 0 {
		// An index built without options has pgvector's defaults.
		f.M, f.EfConstruction = deref(m, 16), deref(efc, 64)
	}
	if s.indexMem == AutoIndexBuildMemory {
		f.BuildMemory = (IndexBuildMemoryFor(rows, sp.Dim, bytesPerDim(sp.Storage), f.M) + 1<<20 - 1) >> 20 << 20
	}
	return f, nil
}

// deref is *p, or def when p is nil.
func deref(p *int, def int) int {
	if p == nil {
		return def
	}
	return *p
}

// RebuildSpaceIndex drops the space's HNSW index and builds it again with
// the store's current graph parameters, memory and workers: a benchmark
// of the build over vectors already loaded.
func (s *Store) RebuildSpaceIndex(ctx context.Context, version int) error {
	if _, err := s.pool.Exec(ctx, `DROP INDEX IF EXISTS `+spaceIndexName(version)); err != nil {
		return fmt.Errorf("drop HNSW index of space %d: %w", version, err)
	}
	return s.BuildSpaceIndex(ctx, version)
}

// IndexBuildBackends lists the server processes building an index in this
// database now: each CREATE INDEX's backend and its parallel workers.
func (s *Store) IndexBuildBackends(ctx context.Context) ([]int, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT a.pid FROM pg_stat_progress_create_index p
		JOIN pg_stat_activity a ON a.pid = p.pid OR a.leader_pid = p.pid
		WHERE p.datname = current_database()`)
	if err != nil {
		return nil, fmt.Errorf("index build backends: %w", err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return nil, fmt.Errorf("index build backends: %w", err)
	}
	return pids, nil
}

// bytesPerDim is the width of one dimension of a space's storage.
func bytesPerDim(st records.Storage) int {
	if st == records.StorageHalfvec {
		return 2
	}
	return 4
}
