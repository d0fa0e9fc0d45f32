package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/records"
)

// LexicalSearch ranks live products by PostgreSQL full-text relevance
// (title weighted above brand and category, above description) for a web
// search style query ("red apple -green", quoted phrases).
func (s *Store) LexicalSearch(ctx context.Context, q string, f catalog.Filter, k int) ([]records.Scored, error) {
	if k < 1 || k > records.MaxK {
		return nil, fmt.Errorf("%w: k must be between 1 and %d", catalog.ErrInvalid, records.MaxK)
	}
	args := []any{q}
	where, args := filterSQL(f, []string{`p.deleted_at IS NULL`, `p.search @@ websearch_to_tsquery('english', $1)`}, args)
	args = append(args, k)
	rows, err := s.pool.Query(ctx, `SELECT p.id, ts_rank_cd(p.search, websearch_to_tsquery('english', $1)) AS score
		FROM products p WHERE `+where+` ORDER BY score DESC, p.id LIMIT $`+fmt.Sprint(len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("lexical search: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (records.Scored, error) {
		var x records.Scored
		err := r.Scan(&x.ProductID, &x.Score)
		return x, err
	})
}

// SearchText is serving's lexical search on PostgreSQL full text (the
// baseline of the in-memory index): LexicalSearch's ranking, with every
// match counted, a hit's title checked for every query word, and the
// facets of the matches when asked.
func (s *Store) SearchText(ctx context.Context, q records.TextQuery) (records.TextMatches, error) {
	var out records.TextMatches
	if q.K < 1 || q.K > records.MaxK {
		return out, fmt.Errorf("%w: k must be between 1 and %d", catalog.ErrInvalid, records.MaxK)
	}
	args := []any{q.Text}
	where, args := filterSQL(q.Filter, []string{`p.deleted_at IS NULL`, `p.search @@ websearch_to_tsquery('english', $1)`}, args)
	args = append(args, q.K)
	rows, err := s.pool.Query(ctx, `SELECT p.id, ts_rank_cd(p.search, websearch_to_tsquery('english', $1)) AS score,
		to_tsvector('english', p.title) @@ websearch_to_tsquery('english', $1), count(*) OVER ()
		FROM products p WHERE `+where+` ORDER BY score DESC, p.id LIMIT $`+fmt.Sprint(len(args)), args...)
	if err != nil {
		return out, fmt.Errorf("lexical search: %w", err)
	}
	out.Hits, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (records.TextHit, error) {
		var h records.TextHit
		err := r.Scan(&h.ProductID, &h.Score, &h.InTitle, &out.Total)
		return h, err
	})
	if err != nil || !q.Facets {
		return out, err
	}
	out.Facets, err = s.facets(ctx, `SELECT id FROM products p WHERE `+where, args[:len(args)-1]...)
	return out, err
}

// Facets counts the given products.
func (s *Store) Facets(ctx context.Context, ids []string) (records.Facets, error) {
	return s.facets(ctx, `SELECT unnest($1::text[])`, ids)
}

// facets counts the live products whose ids the subquery selects.
func (s *Store) facets(ctx context.Context, ids string, args ...any) (records.Facets, error) {
	f := records.Facets{Category: map[string]int{}, Brand: map[string]int{}, Price: map[string]int{}}
	rows, err := s.pool.Query(ctx, `WITH m AS (SELECT * FROM products WHERE id IN (`+ids+`) AND deleted_at IS NULL)
		SELECT 'category', COALESCE(category[1], ''), count(*) FROM m GROUP BY 2
		UNION ALL SELECT 'brand', brand, count(*) FROM m GROUP BY 2
		UNION ALL SELECT 'price', CASE WHEN price IS NULL THEN 'unknown' WHEN price < 10 THEN '0-10' WHEN price < 25 THEN '10-25'
			WHEN price < 50 THEN '25-50' WHEN price < 100 THEN '50-100' ELSE '100+' END, count(*)
			FROM m GROUP BY 2`, args...)
	if err != nil {
		return f, fmt.Errorf("facets: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind, val string
		var n int
		if err := rows.Scan(&kind, &val, &n); err != nil {
			return f, fmt.Errorf("scan facet: %w", err)
		}
		if val == "" {
			continue
		}
		switch kind {
		case "category":
			f.Category[val] = n
		case "brand":
			f.Brand[val] = n
		default:
			f.Price[val] = n
		}
	}
	return f, rows.Err()
}

// Suggest completes a partial query from product titles, brands, category
// names and popular past queries. Prefix matches rank first; trigram
// similarity catches typos ("banan", "yoghrt"). boostCategories (a user's
// favourite categories) lift matching titles.
func (s *Store) Suggest(ctx context.Context, prefix string, k int, boostCategories []string) ([]records.Suggestion, error) {
	prefix = strings.TrimSpace(prefix)
	if prefix == "" {
		return nil, nil
	}
	if boostCategories == nil {
		boostCategories = []string{}
	}
	// Prefix matches score 1 plus similarity; others need trigram word
	// similarity above 0.45 (pg_trgm's default 0.6 misses one-letter typos
	// in short words: "yoghrt" vs "yoghurt" is 0.57).
	var out []records.Suggestion
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT set_config('pg_trgm.word_similarity_threshold', '0.45', true)`); err != nil {
			return err
		}
		// Candidates come from the narrow suggest_terms table: prefix
		// matches through a btree index, then fuzzy (trigram) matches
		// through a GIN index, each capped so a two-letter prefix of a huge
		// catalog stays cheap; they are scored, checked to still have a live
		// product, and merged with popular past queries.
		rows, err := tx.Query(ctx, `
WITH raw AS (
    (SELECT kind, term FROM suggest_terms WHERE lower(term) LIKE lower($1) || '%' ORDER BY length(term) LIMIT 200)
  UNION
    (SELECT kind, term FROM suggest_terms WHERE $1 <% term OR term ILIKE '% ' || $1 || '%' LIMIT 300)
),
scored AS (
    SELECT term, kind,
        (CASE WHEN term ILIKE $1 || '%' OR term ILIKE '% ' || $1 || '%' THEN 1 ELSE 0 END)
        + word_similarity($1, term)
        + CASE WHEN kind = 'category' AND term = ANY($3::text[]) THEN 0.5 ELSE 0 END
        - CASE WHEN kind = 'title' THEN 0 ELSE 0.1 END AS score
    FROM raw
),
cands AS (
    SELECT term AS text, kind, score FROM (SELECT * FROM scored ORDER BY score DESC LIMIT $2 * 4) best
    -- One EXISTS per kind, so each term probes only its own index: one
    -- probe OR-ing all three paid the category GIN scan for every term
    -- (8 ms a term at a million products).
    WHERE (best.kind = 'title' AND EXISTS (SELECT 1 FROM products p WHERE p.deleted_at IS NULL AND p.title = best.term))
       OR (best.kind = 'brand' AND EXISTS (SELECT 1 FROM products p WHERE p.deleted_at IS NULL AND p.brand = best.term))
       OR (best.kind = 'category' AND EXISTS (SELECT 1 FROM products p WHERE p.deleted_at IS NULL AND p.category @> ARRAY[best.term]))
  UNION ALL
    SELECT lower(query), 'query', 0.8 + least(count(*), 100) / 100.0
    FROM queries WHERE lower(query) LIKE lower($1) || '%' AND lower(query) <> lower($1)
    GROUP BY lower(query) HAVING count(DISTINCT COALESCE(user_id, id::text)) >= 2
)
SELECT text, kind, max(score) FROM cands GROUP BY text, kind ORDER BY 3 DESC, 1 LIMIT $2`, prefix, k, boostCategories)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (records.Suggestion, error) {
			var x records.Suggestion
			err := r.Scan(&x.Text, &x.Kind, &x.Score)
			return x, err
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("suggest: %w", err)
	}
	return out, nil
}

// LogQuery records a search for popular-query suggestions. userID may be
// empty; a named user is created if needed so erasure removes the query.
func (s *Store) LogQuery(ctx context.Context, userID, q string) error {
	q = strings.TrimSpace(q)
	if q == "" || len(q) > 200 {
		return nil
	}
	// One round trip, committed without waiting for the WAL flush: a query
	// log line lost in a crash costs nothing, and waiting for the disk on
	// every search does. The user row is made in the same statement (the
	// foreign key is checked at its end).
	b := &pgx.Batch{}
	b.Queue(`SELECT set_config('synchronous_commit', 'off', true)`)
	if userID == "" {
		b.Queue(`INSERT INTO queries (user_id, query) VALUES (NULL, $1)`, q)
	} else {
		b.Queue(`WITH u AS (INSERT INTO users (id) VALUES ($1) ON CONFLICT DO NOTHING)
			INSERT INTO queries (user_id, query) VALUES ($1, $2)`, userID, q)
	}
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("log query: %w", err)
	}
	return nil
}

// UserCategories returns the top categories of a user's recent events.
func (s *Store) UserCategories(ctx context.Context, userID string, n int) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT c FROM events e JOIN products p ON p.id = e.product_id, unnest(p.category) AS c
		WHERE e.user_id = $1 GROUP BY c ORDER BY count(*) DESC, c LIMIT $2`, userID, n)
	if err != nil {
		return nil, fmt.Errorf("user categories: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// sqlPurchased reads the products a user ($1) bought (Purchased,
// RecUser).
const sqlPurchased = `SELECT DISTINCT product_id FROM events WHERE user_id = $1 AND type = 'purchase'`

// Purchased returns the products a user bought.
func (s *Store) Purchased(ctx context.Context, userID string) ([]string, error) {
	rows, err := s.pool.Query(ctx, sqlPurchased, userID)
	if err != nil {
		return nil, fmt.Errorf("purchased: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// UserExists reports whether a user id is known.
func (s *Store) UserExists(ctx context.Context, userID string) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)`, userID).Scan(&ok)
	return ok, err
}

// UpdateUserVector changes a user's vector in a space under a row lock, so
// concurrent event batches for one user do not overwrite each other. fn gets
// the current vector (nil Vector when there is none) and returns the new one.
func (s *Store) UpdateUserVector(ctx context.Context, userID string, space int, fn func(cur records.UserVector) (records.UserVector, error)) error {
	sp, err := s.shapeOf(ctx, space)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		// Lock the user row: the vector row may not exist yet.
		var id string
		if err := tx.QueryRow(ctx, `SELECT id FROM users WHERE id = $1 FOR UPDATE`, userID).Scan(&id); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("user %q: %w", userID, records.ErrNotFound)
			}
			return fmt.Errorf("lock user: %w", err)
		}
		cur := records.UserVector{UserID: userID, Space: space}
		var v pgvector.Vector
		err := tx.QueryRow(ctx, `SELECT COALESCE(embedding, embedding_half::vector), weight, updated_at
			FROM user_vectors WHERE user_id = $1 AND space_version = $2`, userID, space).Scan(&v, &cur.Weight, &cur.UpdatedAt)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return fmt.Errorf("read user vector: %w", err)
		default:
			cur.Vector = v.Slice()
		}
		next, err := fn(cur)
		if err != nil {
			return err
		}
		if len(next.Vector) != sp.dim {
			return &records.DimensionError{What: fmt.Sprintf("user %q in space %d", userID, space), Want: sp.dim, Got: len(next.Vector)}
		}
		col, _ := spaceColumn(sp.storage)
		other := "embedding_half"
		if col == "embedding_half" {
			other = "embedding"
		}
		if next.UpdatedAt.IsZero() {
			next.UpdatedAt = time.Now()
		}
		_, err = tx.Exec(ctx, fmt.Sprintf(`INSERT INTO user_vectors (user_id, space_version, %[1]s, weight, updated_at)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (user_id, space_version) DO UPDATE SET %[1]s = EXCLUDED.%[1]s, %[2]s = NULL,
				weight = EXCLUDED.weight, updated_at = EXCLUDED.updated_at`, col, other),
			userID, space, vectorArg(sp.storage, next.Vector), next.Weight, next.UpdatedAt)
		if err != nil {
			return fmt.Errorf("write user vector: %w", err)
		}
		return nil
	})
}

// PopularityHalfLife is how fast a product's popularity fades (fixed by
// migration 00012, which stores scores in its units).
const PopularityHalfLife = 30 * 24 * time.Hour

// PopularProducts returns the k most popular live products at now:
// weighted interactions (purchase 5, add to cart 3, rating 2, click 1,
// view 0.5), each halved every PopularityHalfLife since it happened.
func (s *Store) PopularProducts(ctx context.Context, now time.Time, k int) ([]records.Scored, error) {
	// Stored scores share one factor 2^((now - epoch)/half-life): ordering
	// by them is the index order; dividing by it gives today's value.
	rows, err := s.pool.Query(ctx, `SELECT pp.product_id, pp.score / vitrine_popularity_factor($1) AS score
		FROM product_popularity pp JOIN products p ON p.id = pp.product_id AND p.deleted_at IS NULL
		WHERE pp.score > 1e-9 * vitrine_popularity_factor($1)
		ORDER BY pp.score DESC, pp.product_id LIMIT $2`, now, k)
	if err != nil {
		return nil, fmt.Errorf("popular products: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (records.Scored, error) {
		var x records.Scored
		err := r.Scan(&x.ProductID, &x.Score)
		return x, err
	})
}
