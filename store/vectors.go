package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"

	"github.com/vitrinehq/vitrine/records"
)

// CreateSpace adds a space in state building.
func (s *Store) CreateSpace(ctx context.Context, ns records.NewSpace) (records.Space, error) {
	if ns.Storage == "" {
		ns.Storage = records.StorageVector
		if ns.Dim > records.MaxVectorDims {
			ns.Storage = records.StorageHalfvec
		}
	}
	switch {
	case ns.Dim < 1:
		return records.Space{}, fmt.Errorf("space dimension %d: must be positive", ns.Dim)
	case ns.Storage == records.StorageVector && ns.Dim > records.MaxVectorDims,
		ns.Storage == records.StorageHalfvec && ns.Dim > records.MaxHalfvecDims:
		return records.Space{}, fmt.Errorf("%w: %d dimensions as %s (limits: vector %d, halfvec %d)", records.ErrTooManyDims, ns.Dim, ns.Storage, records.MaxVectorDims, records.MaxHalfvecDims)
	case ns.Storage != records.StorageVector && ns.Storage != records.StorageHalfvec:
		return records.Space{}, fmt.Errorf("space storage %q: want vector or halfvec", ns.Storage)
	}
	spec := ns.Spec
	if len(spec) == 0 {
		spec = json.RawMessage(`{}`)
	}
	var sp records.Space
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO vector_spaces (name, spec, dim, storage) VALUES ($1, $2, $3, $4)
			RETURNING `+spaceColumns, ns.Name, spec, ns.Dim, ns.Storage).Scan(spaceDest(&sp)...)
		if err != nil {
			return fmt.Errorf("create space: %w", err)
		}
		if ns.DeferIndex {
			return nil
		}
		return s.createSpaceIndex(ctx, tx, sp)
	})
	return sp, err
}

const spaceColumns = `version, name, spec, dim, storage, state, created_at, activated_at`

func spaceDest(sp *records.Space) []any {
	return []any{&sp.Version, &sp.Name, &sp.Spec, &sp.Dim, &sp.Storage, &sp.State, &sp.CreatedAt, &sp.ActivatedAt}
}

// spaceColumn is the column and operator class of a space's vectors.
func spaceColumn(st records.Storage) (column, opclass string) {
	if st == records.StorageHalfvec {
		return "embedding_half", "halfvec_cosine_ops"
	}
	return "embedding", "vector_cosine_ops"
}

// indexName is deterministic so creation is idempotent.
func spaceIndexName(version int) string { return fmt.Sprintf("product_vectors_space_%d_hnsw", version) }

// createSpaceIndex creates the space's HNSW index, with the store's graph
// parameters, unless it exists.
func (s *Store) createSpaceIndex(ctx context.Context, tx pgx.Tx, sp records.Space) error {
	col, ops := spaceColumn(sp.Storage)
	// Only integers from the spaces table and the store's options are
	// formatted into DDL, which cannot take parameters.
	ddl := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %s ON product_vectors USING hnsw ((%s::%s(%d)) %s)%s WHERE space_version = %d`,
		spaceIndexName(sp.Version), col, sp.Storage, sp.Dim, ops, s.withGraph(), sp.Version)
	if _, err := tx.Exec(ctx, ddl); err != nil {
		return fmt.Errorf("create HNSW index for space %d: %w", sp.Version, err)
	}
	return nil
}

// buildSpaceIndex creates the space's HNSW index, unless it exists, with
// the build memory and workers sized for it, and reports whether it built
// one.
func (s *Store) buildSpaceIndex(ctx context.Context, tx pgx.Tx, sp records.Space) (built bool, err error) {
	exists, err := s.prepareIndexBuild(ctx, tx, indexBuild{index: spaceIndexName(sp.Version), dims: sp.Dim, bytesPerDim: bytesPerDim(sp.Storage),
		count: `SELECT count(*) FROM product_vectors WHERE space_version = $1`, args: []any{sp.Version}})
	if err != nil || exists {
		return false, err
	}
	return true, s.createSpaceIndex(ctx, tx, sp)
}

// BuildSpaceIndex builds the space's HNSW index if it does not exist yet,
// in memory sized to the graph and with the configured parallel workers,
// and then refreshes the vectors' planner statistics. It is idempotent:
// when the index exists it does nothing, so `vitrine serve` and ingestion
// call it at start to repair a load that stopped between DropSpaceIndex
// and the build.
func (s *Store) BuildSpaceIndex(ctx context.Context, version int) error {
	sp, err := s.GetSpace(ctx, version)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		built, err := s.buildSpaceIndex(ctx, tx, sp)
		if err != nil || !built {
			return err
		}
		// After a bulk load the planner has no statistics, estimates a
		// handful of rows and scans every vector instead of the new index.
		if _, err := tx.Exec(ctx, `ANALYZE product_vectors`); err != nil {
			return fmt.Errorf("analyze vectors of space %d: %w", version, err)
		}
		return nil
	})
}

// DropSpaceIndex drops the space's HNSW index if it exists and reports
// whether it did. A bulk load drops it before loading and builds it once
// afterwards (BuildSpaceIndex), which costs far less than inserting every
// vector into the graph as it lands. Queries stay correct without it
// (exact scans), only slower.
func (s *Store) DropSpaceIndex(ctx context.Context, version int) (existed bool, err error) {
	return s.dropIndex(ctx, spaceIndexName(version))
}

// dropIndex drops one of the store's HNSW indexes, named by
// spaceIndexName or modelIndexName, if it exists, and reports whether it
// did.
func (s *Store) dropIndex(ctx context.Context, name string) (existed bool, err error) {
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, name).Scan(&existed); err != nil {
			return err
		}
		// The name is one of ours, a plain identifier; DDL takes no parameters.
		_, err := tx.Exec(ctx, `DROP INDEX IF EXISTS `+name)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("drop index %s: %w", name, err)
	}
	return existed, nil
}

// GetSpace returns one space.
func (s *Store) GetSpace(ctx context.Context, version int) (records.Space, error) {
	var sp records.Space
	err := s.pool.QueryRow(ctx, `SELECT `+spaceColumns+` FROM vector_spaces WHERE version = $1`, version).Scan(spaceDest(&sp)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return sp, fmt.Errorf("vector space %d: %w", version, records.ErrNotFound)
	}
	if err != nil {
		return sp, fmt.Errorf("get space %d: %w", version, err)
	}
	return sp, nil
}

// ActiveSpace returns the space that serves queries.
func (s *Store) ActiveSpace(ctx context.Context) (records.Space, error) {
	var sp records.Space
	err := s.pool.QueryRow(ctx, `SELECT `+spaceColumns+` FROM vector_spaces WHERE state = 'active'`).Scan(spaceDest(&sp)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return sp, records.ErrNoActiveSpace
	}
	if err != nil {
		return sp, fmt.Errorf("active space: %w", err)
	}
	return sp, nil
}

// ListSpaces returns every space, newest first, with vector counts.
func (s *Store) ListSpaces(ctx context.Context) ([]records.Space, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+spaceColumns+`,
		(SELECT count(*) FROM product_vectors pv WHERE pv.space_version = vs.version)
		FROM vector_spaces vs ORDER BY version DESC`)
	if err != nil {
		return nil, fmt.Errorf("list spaces: %w", err)
	}
	defer rows.Close()
	var out []records.Space
	for rows.Next() {
		var sp records.Space
		if err := rows.Scan(append(spaceDest(&sp), &sp.Vectors)...); err != nil {
			return nil, fmt.Errorf("scan space: %w", err)
		}
		out = append(out, sp)
	}
	return out, rows.Err()
}

// SetSpaceState moves a non-active space between building and ready.
func (s *Store) SetSpaceState(ctx context.Context, version int, state records.SpaceState) error {
	if state == records.SpaceActive {
		return s.ActivateSpace(ctx, version)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE vector_spaces SET state = $2 WHERE version = $1 AND state <> 'active'`, version, state)
	if err != nil {
		return fmt.Errorf("set space %d state: %w", version, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("vector space %d (missing or active): %w", version, records.ErrConflict)
	}
	return nil
}

// ActivateSpace makes version the serving space in one transaction; the
// previously active space becomes retired, so readers switch atomically.
func (s *Store) ActivateSpace(ctx context.Context, version int) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		// Serialise concurrent activations.
		if _, err := tx.Exec(ctx, `LOCK TABLE vector_spaces IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return fmt.Errorf("lock spaces: %w", err)
		}
		var sp records.Space
		err := tx.QueryRow(ctx, `SELECT `+spaceColumns+` FROM vector_spaces WHERE version = $1`, version).Scan(spaceDest(&sp)...)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("vector space %d: %w", version, records.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("activate space %d: %w", version, err)
		}
		if sp.State == records.SpaceActive {
			return nil
		}
		if _, err := s.buildSpaceIndex(ctx, tx, sp); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE vector_spaces SET state = 'retired' WHERE state = 'active'`); err != nil {
			return fmt.Errorf("retire active space: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE vector_spaces SET state = 'active', activated_at = now() WHERE version = $1`, version); err != nil {
			return fmt.Errorf("activate space %d: %w", version, err)
		}
		return nil
	})
}

// DropSpace deletes a space that is not active, with its vectors and index.
func (s *Store) DropSpace(ctx context.Context, version int) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var state records.SpaceState
		err := tx.QueryRow(ctx, `SELECT state FROM vector_spaces WHERE version = $1 FOR UPDATE`, version).Scan(&state)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("vector space %d: %w", version, records.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("drop space %d: %w", version, err)
		}
		if state == records.SpaceActive {
			return fmt.Errorf("vector space %d is active; activate another first: %w", version, records.ErrConflict)
		}
		if _, err := tx.Exec(ctx, `DROP INDEX IF EXISTS `+spaceIndexName(version)); err != nil {
			return fmt.Errorf("drop index of space %d: %w", version, err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM vector_spaces WHERE version = $1`, version); err != nil {
			return fmt.Errorf("drop space %d: %w", version, err)
		}
		s.shapes.Delete(version)
		return nil
	})
}

// vectorArg converts to the space's storage type.
func vectorArg(st records.Storage, v []float32) any {
	if st == records.StorageHalfvec {
		return pgvector.NewHalfVector(v)
	}
	return pgvector.NewVector(v)
}

// PutProductVectors upserts fused vectors into a space. Every vector must
// have the space's dimension and every product must exist and be live.
// The rows go in one statement, in product id order, so concurrent
// writers of overlapping products lock them in the same order, and a
// transaction ended by a transient error (a deadlock, a serialization
// failure) is run again. Of several vectors of one product the last one
// is stored.
func (s *Store) PutProductVectors(ctx context.Context, version int, vs []records.ProductVector) error {
	if len(vs) == 0 {
		return nil
	}
	sp, err := s.shapeOf(ctx, version)
	if err != nil {
		return err
	}
	ids := make([]string, len(vs))
	for i, v := range vs {
		if len(v.Vector) != sp.dim {
			return &records.DimensionError{What: fmt.Sprintf("product %q in space %d", v.ProductID, version), Want: sp.dim, Got: len(v.Vector)}
		}
		ids[i] = v.ProductID
	}
	if err := s.checkProductsExist(ctx, ids); err != nil {
		return err
	}
	col, _ := spaceColumn(sp.storage)
	// The other column is cleared so a space's storage is unambiguous.
	other := "embedding_half"
	if col == "embedding_half" {
		other = "embedding"
	}
	q := fmt.Sprintf(`INSERT INTO product_vectors (space_version, product_id, %[1]s, source_hash)
		SELECT $1, p, v, h FROM unnest($2::text[], $3::%[3]s[], $4::bytea[]) WITH ORDINALITY AS x(p, v, h, n) ORDER BY n
		ON CONFLICT (space_version, product_id) DO UPDATE SET %[1]s = EXCLUDED.%[1]s, %[2]s = NULL,
			source_hash = EXCLUDED.source_hash, updated_at = now()`, col, other, sp.storage)
	vs = lastOfEach(vs, func(a, b records.ProductVector) int { return strings.Compare(a.ProductID, b.ProductID) })
	products, hashes := make([]string, len(vs)), make([][]byte, len(vs))
	for i, v := range vs {
		products[i], hashes[i] = v.ProductID, v.SourceHash
	}
	vecs := vectorArgs(sp.storage, vs)
	return s.retryTx(ctx, "put product vectors", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, q, version, products, vecs, hashes); err != nil {
			if pgCode(err) == codeForeignKey {
				return fmt.Errorf("put product vectors: %w", &records.UnknownProductError{IDs: ids})
			}
			return fmt.Errorf("put product vectors: %w", err)
		}
		return nil
	})
}

// lastOfEach sorts a copy of xs by compare and keeps the last of each run
// of equal elements, as writing them one after another would have left:
// one upsert statement cannot update a row twice.
func lastOfEach[T any](xs []T, compare func(a, b T) int) []T {
	xs = slices.Clone(xs)
	slices.SortStableFunc(xs, compare)
	out := xs[:0]
	for i, x := range xs {
		if i+1 < len(xs) && compare(xs[i+1], x) == 0 {
			continue
		}
		out = append(out, x)
	}
	return out
}

// vectorArgs is the array parameter of vs's vectors in a space's storage.
func vectorArgs(st records.Storage, vs []records.ProductVector) any {
	if st == records.StorageHalfvec {
		out := make([]pgvector.HalfVector, len(vs))
		for i, v := range vs {
			out[i] = pgvector.NewHalfVector(v.Vector)
		}
		return out
	}
	out := make([]pgvector.Vector, len(vs))
	for i, v := range vs {
		out[i] = pgvector.NewVector(v.Vector)
	}
	return out
}

// checkProductsExist returns an UnknownProductError naming every id that is
// missing or deleted.
func (s *Store) checkProductsExist(ctx context.Context, ids []string) error {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT i FROM unnest($1::text[]) AS i
		WHERE NOT EXISTS (SELECT 1 FROM products p WHERE p.id = i AND p.deleted_at IS NULL)`, ids)
	if err != nil {
		return fmt.Errorf("check products: %w", err)
	}
	missing, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("check products: %w", err)
	}
	if len(missing) > 0 {
		return &records.UnknownProductError{IDs: missing}
	}
	return nil
}

// ProductVectors returns the fused vectors of ids in a space.
func (s *Store) ProductVectors(ctx context.Context, version int, ids []string) (map[string][]float32, error) {
	return s.vectorsByProduct(ctx, "product vectors", len(ids), `SELECT product_id, COALESCE(embedding, embedding_half::vector)
		FROM product_vectors WHERE space_version = $1 AND product_id = ANY($2)`, version, ids)
}

// vectorsByProduct runs a query of (product id, vector) rows into a map
// sized for n; what names it in errors.
func (s *Store) vectorsByProduct(ctx context.Context, what string, n int, query string, args ...any) (map[string][]float32, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	out := make(map[string][]float32, n)
	for rows.Next() {
		var id string
		var v pgvector.Vector
		if err := rows.Scan(&id, &v); err != nil {
			return nil, fmt.Errorf("scan %s: %w", what, err)
		}
		out[id] = v.Slice()
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// VectorSourceHashes returns the source hashes of vectors already in a
// space, so backfill and ingest skip products whose inputs did not change.
func (s *Store) VectorSourceHashes(ctx context.Context, version int, ids []string) (map[string][]byte, error) {
	rows, err := s.pool.Query(ctx, `SELECT product_id, source_hash FROM product_vectors
		WHERE space_version = $1 AND product_id = ANY($2)`, version, ids)
	if err != nil {
		return nil, fmt.Errorf("vector hashes: %w", err)
	}
	defer rows.Close()
	out := make(map[string][]byte, len(ids))
	for rows.Next() {
		var id string
		var h []byte
		if err := rows.Scan(&id, &h); err != nil {
			return nil, fmt.Errorf("scan vector hash: %w", err)
		}
		out[id] = h
	}
	return out, rows.Err()
}
