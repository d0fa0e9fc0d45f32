package serving_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/serving"
)

// The in-memory backend stores no trained model, so it has no neighbour
// lists and nothing trends: the Neighbours and Trending ports answer
// empty.

func (b *memBackend) ItemNeighbours(context.Context, int, string, []string) (map[string][]records.Scored, error) {
	return map[string][]records.Scored{}, nil
}

func (b *memBackend) TrendingProducts(context.Context, time.Time, time.Duration, time.Duration, int, []string) ([]records.Scored, error) {
	return nil, nil
}

func (b *memBackend) ActiveCFVersion(ctx context.Context) (int, error) {
	m, err := b.ActiveCFModel(ctx)
	return m.Version, err
}

func (b *memBackend) ActiveUserFactors(ctx context.Context, uid string) (int, []float32, error) {
	m, err := b.ActiveCFModel(ctx)
	if err != nil {
		return 0, nil, err
	}
	f, err := b.UserFactors(ctx, m.Version, uid)
	if errors.Is(err, records.ErrNotFound) {
		return m.Version, nil, nil
	}
	return m.Version, f, err
}

// The recommendation surfaces' ports are required like the others: a
// service is never built that would find them missing only when asked.
func TestNewRequiresRecommendationPorts(t *testing.T) {
	b := newBackend()
	for name, drop := range map[string]func(*serving.Deps){
		"no neighbours": func(d *serving.Deps) { d.Neighbours = nil },
		"no trending":   func(d *serving.Deps) { d.Trending = nil },
	} {
		d := serving.DepsFrom(b, words, nil)
		drop(&d)
		if _, err := serving.New(d); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}
