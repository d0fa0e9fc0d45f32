package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vitrinehq/vitrine/records"
)

// ErrTrendingWindow: the recent window is not positive or not shorter
// than the baseline.
var ErrTrendingWindow = errors.New("trending window")

// TrendingProducts ranks live products by popularity velocity: their
// events in the recent window, each decayed by 0.5^(age/(recent/2)),
// over the number the product's rate in the baseline before it would
// predict for a window that long (plus one, so that a product new in the
// window needs several events to lead). Products with fewer than two
// recent events are left out, as are exclude. Best first, ties by id.
func (s *Store) TrendingProducts(ctx context.Context, now time.Time, recent, baseline time.Duration, k int, exclude []string) ([]records.Scored, error) {
	if recent <= 0 || baseline <= recent {
		return nil, fmt.Errorf("trending: recent %v, baseline %v: %w", recent, baseline, ErrTrendingWindow)
	}
	if exclude == nil {
		exclude = []string{}
	}
	rows, err := s.pool.Query(ctx, `WITH w AS (
			SELECT e.product_id,
				coalesce(sum(power(0.5, extract(epoch FROM ($1 - e.occurred_at)) / ($2 / 2))) FILTER (WHERE e.occurred_at >= $1 - make_interval(secs => $2)), 0) AS recent,
				count(*) FILTER (WHERE e.occurred_at >= $1 - make_interval(secs => $2)) AS n_recent,
				count(*) FILTER (WHERE e.occurred_at < $1 - make_interval(secs => $2)) AS older
			FROM events e JOIN products p ON p.id = e.product_id AND p.deleted_at IS NULL
			WHERE e.occurred_at >= $1 - make_interval(secs => $3) AND e.occurred_at <= $1 AND e.product_id <> ALL($5::text[])
			GROUP BY e.product_id)
		SELECT product_id, recent / (older * $2 / ($3 - $2) + 1) AS score FROM w
		WHERE n_recent >= 2 ORDER BY score DESC, product_id LIMIT $4`,
		now, recent.Seconds(), baseline.Seconds(), k, exclude)
	if err != nil {
		return nil, fmt.Errorf("trending: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (records.Scored, error) {
		var x records.Scored
		err := r.Scan(&x.ProductID, &x.Score)
		return x, err
	})
	if err != nil {
		return nil, fmt.Errorf("trending: %w", err)
	}
	return out, nil
}
