package serving_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/extractors/encerr"
	"github.com/vitrinehq/vitrine/fusion"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/vecmath"
)

// textModel is the key of the fake text model; the fused space has its
// 2-dimensional block only, so fused and model vectors coincide.
const textModel = "text@1"

var testSpec = fusion.Spec{Strategy: fusion.WeightedConcat, Components: []fusion.Component{{Model: textModel, Modality: "text", Dim: 2, Weight: 1}}}

// memBackend is an in-memory serving.Backend: products, fused vectors,
// an optional CF model, events and user vectors. A vector whose product
// is absent stands for a product deleted after it was indexed.
type memBackend struct {
	mu          sync.Mutex
	noSpace     bool
	products    map[string]catalog.Product
	vectors     map[string][]float32 // fused, space 1 (and the text model's)
	cf          *records.CFModel
	userFactors map[string][]float32
	itemFactors map[string][]float32
	events      []catalog.Event
	userVecs    map[string]records.UserVector
	popular     []records.Scored
	queries     []string
	nearest     []records.NearestQuery // every vector query, in order
	rescored    [][]string             // every ModelVectors call's ids
	retrievals  map[string]records.StoredRetrieval
	lists       map[string]contentList // content-neighbour lists, by space and product
}

func newBackend() *memBackend {
	return &memBackend{products: map[string]catalog.Product{}, vectors: map[string][]float32{},
		userFactors: map[string][]float32{}, itemFactors: map[string][]float32{}, userVecs: map[string]records.UserVector{}}
}

// add adds a product with a title, brand, category and fused vector (nil:
// not indexed).
func (b *memBackend) add(id, title, brand, category string, vec []float32) {
	b.products[id] = catalog.Product{ID: id, Title: title, Brand: brand, Category: strings.Split(category, " > ")}
	if vec != nil {
		b.vectors[id] = vec
	}
}

func (b *memBackend) GetProduct(_ context.Context, id string) (catalog.Product, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, ok := b.products[id]
	if !ok {
		return p, fmt.Errorf("product %q: %w", id, records.ErrNotFound)
	}
	return p, nil
}

func (b *memBackend) GetProducts(_ context.Context, ids []string) (map[string]catalog.Product, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[string]catalog.Product{}
	for _, id := range ids {
		if p, ok := b.products[id]; ok {
			out[id] = p
		}
	}
	return out, nil
}

func (b *memBackend) ActiveSpace(context.Context) (records.Space, error) {
	if b.noSpace {
		return records.Space{}, records.ErrNoActiveSpace
	}
	return records.Space{Version: 1, Spec: testSpec.JSON(), Dim: testSpec.Dim(), State: records.SpaceActive}, nil
}

// ModelVectors returns the products' vectors (the fake keeps one vector a
// product, for every model).
func (b *memBackend) ModelVectors(_ context.Context, _ string, ids []string) (map[string][]float32, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rescored = append(b.rescored, ids)
	out := map[string][]float32{}
	for _, id := range ids {
		if v, ok := b.vectors[id]; ok {
			out[id] = v
		}
	}
	return out, nil
}

// Nearest ranks every vector by cosine (exact search), honouring Exclude.
func (b *memBackend) Nearest(_ context.Context, q records.NearestQuery) ([]records.Neighbor, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.nearest = append(b.nearest, q)
	var out []records.Neighbor
	for id, v := range b.vectors {
		if slices.Contains(q.Filter.Exclude, id) {
			continue
		}
		c, err := vecmath.Cosine(q.Vector, v)
		if err != nil {
			return nil, err
		}
		out = append(out, records.Neighbor{ProductID: id, Distance: 1 - c})
	}
	slices.SortFunc(out, func(x, y records.Neighbor) int {
		return cmp.Or(cmp.Compare(x.Distance, y.Distance), strings.Compare(x.ProductID, y.ProductID))
	})
	return out[:min(q.K, len(out))], nil
}

func (b *memBackend) ProductVectors(_ context.Context, _ int, ids []string) (map[string][]float32, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[string][]float32{}
	for _, id := range ids {
		if v, ok := b.vectors[id]; ok {
			out[id] = v
		}
	}
	return out, nil
}

func (b *memBackend) ActiveCFModel(context.Context) (records.CFModel, error) {
	if b.cf == nil {
		return records.CFModel{}, records.ErrNoCFModel
	}
	return *b.cf, nil
}

func (b *memBackend) UserFactors(_ context.Context, _ int, uid string) ([]float32, error) {
	if f, ok := b.userFactors[uid]; ok {
		return f, nil
	}
	return nil, records.ErrNotFound
}

func (b *memBackend) ItemFactors(_ context.Context, _ int, ids []string) (map[string][]float32, error) {
	out := map[string][]float32{}
	for _, id := range ids {
		if f, ok := b.itemFactors[id]; ok {
			out[id] = f
		}
	}
	return out, nil
}

func (b *memBackend) TopItemsByFactors(_ context.Context, _ records.CFModel, user []float32, k int, exclude []string) ([]records.Scored, error) {
	var out []records.Scored
	for id, f := range b.itemFactors {
		if !slices.Contains(exclude, id) {
			d, err := vecmath.Dot(user, f)
			if err != nil {
				return nil, err
			}
			out = append(out, records.Scored{ProductID: id, Score: d})
		}
	}
	slices.SortFunc(out, func(x, y records.Scored) int {
		return cmp.Or(cmp.Compare(y.Score, x.Score), strings.Compare(x.ProductID, y.ProductID))
	})
	return out[:min(k, len(out))], nil
}

func (b *memBackend) InsertEvents(_ context.Context, evs []catalog.Event) ([]records.EventResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]records.EventResult, len(evs))
	for i, e := range evs {
		out[i].Status = records.EventInserted
		if slices.ContainsFunc(b.events, func(x catalog.Event) bool { return x.UserID == e.UserID && x.ClientEventID == e.ClientEventID }) {
			out[i].Status = records.EventDuplicate
			continue
		}
		b.events = append(b.events, e)
	}
	return out, nil
}

func (b *memBackend) UserEvents(_ context.Context, uid string, limit int) ([]catalog.Event, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []catalog.Event
	for i := len(b.events) - 1; i >= 0 && len(out) < limit; i-- {
		if b.events[i].UserID == uid {
			out = append(out, b.events[i])
		}
	}
	return out, nil
}

func (b *memBackend) Purchased(_ context.Context, uid string) ([]string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, e := range b.events {
		if e.UserID == uid && e.Type == catalog.Purchase {
			out = append(out, e.ProductID)
		}
	}
	return out, nil
}

func (b *memBackend) UserCategories(context.Context, string, int) ([]string, error) { return nil, nil }

func (b *memBackend) PopularProducts(_ context.Context, _ time.Time, k int) ([]records.Scored, error) {
	return b.popular[:min(k, len(b.popular))], nil
}

func (b *memBackend) GetUserVector(_ context.Context, uid string, _ int) (records.UserVector, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	uv, ok := b.userVecs[uid]
	if !ok {
		return uv, records.ErrNotFound
	}
	return uv, nil
}

func (b *memBackend) UpdateUserVector(_ context.Context, uid string, _ int, fn func(records.UserVector) (records.UserVector, error)) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	next, err := fn(b.userVecs[uid])
	if err != nil {
		return err
	}
	b.userVecs[uid] = next
	return nil
}

func (b *memBackend) DeleteUser(_ context.Context, uid string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, had := b.userVecs[uid]
	delete(b.userVecs, uid)
	n := len(b.events)
	b.events = slices.DeleteFunc(b.events, func(e catalog.Event) bool { return e.UserID == uid })
	if !had && n == len(b.events) {
		return records.ErrNotFound
	}
	return nil
}

// SearchText matches products whose title contains a query word, in id
// order, each with the share of query words its title holds as score.
func (b *memBackend) SearchText(_ context.Context, q records.TextQuery) (records.TextMatches, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out records.TextMatches
	words := strings.Fields(strings.ToLower(q.Text))
	for id, p := range b.products {
		n := 0
		for _, w := range words {
			if strings.Contains(strings.ToLower(p.Title), w) {
				n++
			}
		}
		if n > 0 && !slices.Contains(q.Filter.Exclude, id) {
			out.Hits = append(out.Hits, records.TextHit{ProductID: id, Score: float64(n) / float64(len(words)), InTitle: n == len(words)})
		}
	}
	slices.SortFunc(out.Hits, func(x, y records.TextHit) int { return strings.Compare(x.ProductID, y.ProductID) })
	out.Total = len(out.Hits)
	if q.Facets {
		ids := make([]string, len(out.Hits))
		for i, h := range out.Hits {
			ids[i] = h.ProductID
		}
		out.Facets = b.facets(ids)
	}
	out.Hits = out.Hits[:min(q.K, len(out.Hits))]
	return out, nil
}

func (b *memBackend) Facets(_ context.Context, ids []string) (records.Facets, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.facets(ids), nil
}

// facets counts products by top category and brand; callers hold mu.
func (b *memBackend) facets(ids []string) records.Facets {
	f := records.Facets{Category: map[string]int{}, Brand: map[string]int{}, Price: map[string]int{}}
	for _, id := range ids {
		if p, ok := b.products[id]; ok {
			f.Category[p.Category[0]]++
			f.Brand[p.Brand]++
		}
	}
	return f
}

func (b *memBackend) Suggest(_ context.Context, prefix string, k int, _ []string) ([]records.Suggestion, error) {
	var out []records.Suggestion
	for _, p := range b.products {
		if strings.HasPrefix(strings.ToLower(p.Title), strings.ToLower(prefix)) && len(out) < k {
			out = append(out, records.Suggestion{Text: p.Title, Kind: "title", Score: 1})
		}
	}
	return out, nil
}

func (b *memBackend) LogQuery(_ context.Context, _, q string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.queries = append(b.queries, q)
	return nil
}

// wordEncoder is a fake text model: the sum of its words' vectors; a text
// with no known word is encerr.ErrEmptyInput, as the real models say.
type wordEncoder map[string][]float32

func (wordEncoder) Key() string { return textModel }

func (w wordEncoder) Encode(_ context.Context, in []byte) ([]float32, error) {
	var sum []float32
	for _, word := range strings.Fields(strings.ToLower(string(in))) {
		if v, ok := w[word]; ok {
			if sum == nil {
				sum = make([]float32, len(v))
			}
			for i, x := range v {
				sum[i] += x
			}
		}
	}
	if sum == nil {
		return nil, fmt.Errorf("%w: no known word in %q", encerr.ErrEmptyInput, in)
	}
	return sum, nil
}
