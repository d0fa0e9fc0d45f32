package store

import (
	"context"
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

// HNSW build parameters the sizing assumes: pgvector's defaults, which the
// store's indexes use.
const (
	hnswM = 16
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
// memory: per element its value (4 bytes a dimension, 2 for halfvec), its
// neighbour lists (2m at level 0, m on the levels above that about one
// element in m reaches) and fixed overhead, plus a quarter for the memory
// context's slack and 32 MB for the build itself. It stays between 64 MB
// and 8 GB.
func IndexBuildMemoryFor(rows int64, dims, bytesPerDim int) int64 {
	// Upper levels add about m/(m-1) slots an element: 2 with the headers.
	neighbours := candidateBytes * (2*hnswM + 2)
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
		size = megabytes(IndexBuildMemoryFor(rows, b.dims, b.bytesPerDim))
	}
	if _, err := tx.Exec(ctx, `SELECT set_config('maintenance_work_mem', $1, true)`, size); err != nil {
		return false, fmt.Errorf("index build memory %q: %w", size, err)
	}
	if s.indexWorkers >= 0 {
		if _, err := tx.Exec(ctx, `SELECT set_config('max_parallel_maintenance_workers', $1, true)`, strconv.Itoa(s.indexWorkers)); err != nil {
			return false, fmt.Errorf("index build workers %d: %w", s.indexWorkers, err)
		}
	}
	s.log.Debug("hnsw build", "index", b.index, "maintenance_work_mem", size, "workers", s.indexWorkers)
	return false, nil
}

// SpaceIndexFootprint reports, for a space's HNSW index, the
// maintenance_work_mem a build of it gets (the configured size, or with
// auto the graph's size for the vectors the space holds now) and the
// index's size on disk (0 before it is built), both in bytes.
func (s *Store) SpaceIndexFootprint(ctx context.Context, version int) (buildMemory, indexBytes int64, err error) {
	sp, err := s.GetSpace(ctx, version)
	if err != nil {
		return 0, 0, err
	}
	var rows int64
	err = s.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM product_vectors WHERE space_version = $1),
		COALESCE(pg_relation_size(to_regclass($2)), 0), pg_size_bytes(CASE WHEN $3 = 'auto' THEN '0' ELSE $3 END)`,
		version, spaceIndexName(version), s.indexMem).Scan(&rows, &indexBytes, &buildMemory)
	if err != nil {
		return 0, 0, fmt.Errorf("index footprint of space %d: %w", version, err)
	}
	if s.indexMem == AutoIndexBuildMemory {
		buildMemory = (IndexBuildMemoryFor(rows, sp.Dim, bytesPerDim(sp.Storage)) + 1<<20 - 1) >> 20 << 20
	}
	return buildMemory, indexBytes, nil
}

// bytesPerDim is the width of one dimension of a space's storage.
func bytesPerDim(st records.Storage) int {
	if st == records.StorageHalfvec {
		return 2
	}
	return 4
}
