package serving_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
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

// contentList is a stored content-neighbour list, when it was made and
// the product vector it was made from.
type contentList struct {
	ns  []records.Scored
	at  time.Time
	vec []float32
}

func listKey(space int, id string) string { return fmt.Sprint(space, "/", id) }

// ContentNeighbours returns the lists stored at or after since from the
// product's current vector (the store: after the vector was written).
func (b *memBackend) ContentNeighbours(_ context.Context, space int, ids []string, since time.Time) (map[string][]records.Scored, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[string][]records.Scored{}
	for _, id := range ids {
		if l, ok := b.lists[listKey(space, id)]; ok && !l.at.Before(since) && slices.Equal(l.vec, b.vectors[id]) {
			out[id] = l.ns
		}
	}
	return out, nil
}

// SaveContentNeighbours keeps the lists.
func (b *memBackend) SaveContentNeighbours(_ context.Context, space int, lists map[string][]records.Scored, at time.Time) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.lists == nil {
		b.lists = map[string]contentList{}
	}
	for id, ns := range lists {
		b.lists[listKey(space, id)] = contentList{ns: ns, at: at, vec: b.vectors[id]}
	}
	return nil
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
