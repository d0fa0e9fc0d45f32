package training

import (
	"context"
	"math"
	"slices"

	"github.com/vitrinehq/vitrine/eval/metrics"
	"github.com/vitrinehq/vitrine/recommend"
	"github.com/vitrinehq/vitrine/store"
)

// ContentStore gives the fused product vectors of the serving space, so the
// blend can be tuned with the content score too.
type ContentStore interface {
	ActiveSpace(ctx context.Context) (store.Space, error)
	ProductVectors(ctx context.Context, version int, ids []string) (map[string][]float32, error)
}

// maxTuneUsers bounds the validation users: every one is scored against the
// whole catalog for every source.
const maxTuneUsers = 300

// minTuneUsers is the fewest held-out users worth tuning on: below it the
// grid's winner is noise and the configured weights are the better guess.
const minTuneUsers = 50

// Blend sources, as the API names them.
const (
	SourceCF         = "collaborative"
	SourceContent    = "content"
	SourcePopularity = "popularity"
)

// tuneBlend holds out one interaction per user, fits fit() on the rest and
// picks the blend weights of collaborative, content and popularity scores
// that maximise NDCG@10 of the held-out items.
func tuneBlend(ctx context.Context, cs ContentStore, evs []recommend.Interaction, seed uint64,
	fit func(context.Context, *recommend.Dataset) (recommend.Scorer, error)) (map[string]float64, float64, error) {
	train, valid := recommend.HoldOut(evs, 1, seed)
	d, err := recommend.NewDataset(train)
	if err != nil {
		return nil, 0, err
	}
	m, err := fit(ctx, d)
	if err != nil {
		return nil, 0, err
	}
	n := d.NumItems()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = d.ItemID(i)
	}
	var vecs map[string][]float32
	if cs != nil {
		if sp, err := cs.ActiveSpace(ctx); err == nil {
			if vecs, err = cs.ProductVectors(ctx, sp.Version, ids); err != nil {
				return nil, 0, err
			}
		}
	}
	pop := make([]float64, n)
	for i := range n {
		users, _ := d.ItemUsers(i)
		pop[i] = math.Log1p(float64(len(users)))
	}
	var cases []recommend.TuneCase
	for _, h := range valid {
		if len(cases) == maxTuneUsers {
			break
		}
		u, ok := d.UserIndex(h.User)
		target, ok2 := d.ItemIndex(h.Item)
		if !ok || !ok2 {
			continue
		}
		items, _ := d.UserItems(u)
		excl := make([]int, len(items))
		for j, i := range items {
			excl[j] = int(i)
		}
		cf := make([]float64, n)
		m.ScoreUser(u, cf)
		content := make([]float64, n)
		prof := profile(vecs, ids, items)
		for i := range content {
			content[i] = math.NaN()
			if v, ok := vecs[ids[i]]; ok && prof != nil {
				content[i] = cosine(prof, v)
			}
		}
		cases = append(cases, recommend.TuneCase{
			Parts:    map[string][]float64{SourceCF: cf, SourceContent: content, SourcePopularity: slices.Clone(pop)},
			Relevant: map[int]bool{target: true}, Exclude: excl,
		})
	}
	if len(cases) < minTuneUsers {
		return nil, 0, nil // too little behaviour to tune on: serving keeps its configured weights
	}
	grid := map[string][]float64{SourceCF: {0, 0.5, 1}, SourceContent: {0, 0.25, 0.5, 1}, SourcePopularity: {0, 0.1, 0.3}}
	res, err := recommend.TuneWeights(ctx, cases, grid, func(ranked []int, relevant map[int]bool) float64 {
		r := make([]string, len(ranked))
		rel := metrics.Relevance{}
		for j, i := range ranked {
			r[j] = ids[i]
		}
		for i := range relevant {
			rel[ids[i]] = 1
		}
		return metrics.NDCG(r, rel, 10)
	}, recommend.WithCutoff(10))
	if err != nil {
		return nil, 0, err
	}
	return res.Weights, res.Score, nil
}

func profile(vecs map[string][]float32, ids []string, items []int32) []float32 {
	var sum []float32
	for _, i := range items {
		v, ok := vecs[ids[i]]
		if !ok {
			continue
		}
		var nn float64
		for _, x := range v {
			nn += float64(x) * float64(x)
		}
		if nn == 0 {
			continue
		}
		if sum == nil {
			sum = make([]float32, len(v))
		}
		inv := 1 / math.Sqrt(nn)
		for k, x := range v {
			sum[k] += float32(float64(x) * inv)
		}
	}
	return sum
}

func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range min(len(a), len(b)) {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	if aa == 0 || bb == 0 {
		return math.NaN()
	}
	return ab / math.Sqrt(aa*bb)
}
