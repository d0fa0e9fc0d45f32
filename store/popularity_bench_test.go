package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/internal/testdb"
	"github.com/vitrinehq/vitrine/store"
)

// BenchmarkPopularProducts measures the popularity prior of
// recommendations (the top 30 products) over 20,000 products and 500,000
// events, beside the query it replaced, which aggregated every event of the
// last 90 days on each request (the baseline). Run it with
//
//	go test ./store -run '^$' -bench PopularProducts -benchtime 20x
func BenchmarkPopularProducts(b *testing.B) {
	ctx := context.Background()
	s, err := store.Open(ctx, testdb.URL(b))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for _, q := range []string{
		`INSERT INTO products (id, title, content_hash) SELECT 'p' || g, 'Product ' || g, '\x00' FROM generate_series(1, 20000) g`,
		`INSERT INTO users (id) SELECT 'u' || g FROM generate_series(1, 20000) g`,
		// Zipf-like: low product numbers are popular.
		`INSERT INTO events (client_event_id, user_id, product_id, type, occurred_at)
			SELECT 'e' || g, 'u' || (1 + g % 20000), 'p' || (1 + floor(20000 * power(random(), 3))::int),
				(ARRAY['view','click','add_to_cart','purchase'])[1 + g % 4], now() - random() * interval '120 days'
			FROM generate_series(1, 500000) g`,
		`ANALYZE`,
	} {
		if _, err := store.RawPool(s).Exec(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("trigger-kept", func(b *testing.B) {
		for b.Loop() {
			if top, err := s.PopularProducts(ctx, time.Now(), 30); err != nil || len(top) != 30 {
				b.Fatalf("%d products, %v", len(top), err)
			}
		}
	})
	b.Run("aggregate-events-baseline", func(b *testing.B) {
		for b.Loop() {
			rows, err := store.RawPool(s).Query(ctx, `SELECT e.product_id, sum(CASE e.type WHEN 'purchase' THEN 5 WHEN 'add_to_cart' THEN 3
					WHEN 'click' THEN 1 WHEN 'rating' THEN 2 ELSE 0.5 END)::float8 AS score
				FROM events e JOIN products p ON p.id = e.product_id AND p.deleted_at IS NULL
				WHERE e.occurred_at >= $1 GROUP BY e.product_id ORDER BY score DESC, e.product_id LIMIT 30`, time.Now().Add(-90*24*time.Hour))
			if err != nil {
				b.Fatal(err)
			}
			rows.Close()
		}
	})
}
