package training

import (
	"context"
	"slices"

	"github.com/vitrinehq/vitrine/eval/metrics"
	"github.com/vitrinehq/vitrine/recommend"
	"github.com/vitrinehq/vitrine/records"
)

// ContentStore gives the fused product vectors of the serving space, so the
// blend can be tuned with the content score too.
type ContentStore interface {
	ActiveSpace(ctx context.Context) (records.Space, error)
	ProductVectors(ctx context.Context, version int, ids []string) (map[string][]float32, error)
}

// maxTuneUsers bounds the validation users: every one is scored against the
// whole catalog for every source.
const maxTuneUsers = 300

// minTuneUsers is the fewest held-out users worth tuning on: below it the
// grid's winner is noise and the configured weights are the better guess.
const minTuneUsers = 50

// tuneK is the list length the blend is tuned for (NDCG@10).
const tuneK = 10

// tuneBlend holds out one interaction per user, fits the method on the rest
// and picks the blend weights of collaborative, content and popularity
// scores that maximise NDCG@10 of the held-out items, each user's
// candidates retrieved and scored as the API does
// (recommend.HybridCandidates).
func tuneBlend(ctx context.Context, cs ContentStore, evs []recommend.Interaction, method string, p recommend.Params) (map[string]float64, float64, error) {
	train, valid := recommend.HoldOut(evs, 1, p.Seed)
	d, err := recommend.NewDataset(train)
	if err != nil {
		return nil, 0, err
	}
	m, err := newModel(method, p)
	if err != nil {
		return nil, 0, err
	}
	if err := m.Fit(ctx, d); err != nil {
		return nil, 0, err
	}
	pop, err := recommend.New("popularity", p)
	if err != nil {
		return nil, 0, err
	}
	if err := pop.Fit(ctx, d); err != nil {
		return nil, 0, err
	}
	n := d.NumItems()
	vecs, err := itemVectors(ctx, cs, d)
	if err != nil {
		return nil, 0, err
	}
	popularity := make([]float64, n)
	pop.ScoreUser(0, popularity)
	pool := recommend.ServingPool(tuneK)
	popular := recommend.TopItems(popularity, pool/2, nil)
	var cases []recommend.TuneCase
	for _, u := range heldOutUsers(d, valid) {
		items, _ := d.UserItems(u.index)
		h := recommend.HybridUser{CF: make([]float64, n), Popular: popular, Popularity: popularity,
			Exclude: func(i int) bool { _, found := slices.BinarySearch(items, int32(i)); return found }}
		m.ScoreUser(u.index, h.CF)
		if vecs != nil {
			own := make([][]float32, len(items))
			for j, i := range items {
				own[j] = vecs[i]
			}
			if prof := recommend.ContentProfile(own); prof != nil {
				h.Content = make([]float64, n)
				recommend.ContentScores(prof, vecs, h.Content)
			}
		}
		if tc, ok := recommend.HybridTuneCase(h, pool, u.heldOut); ok {
			cases = append(cases, tc)
		}
	}
	if len(cases) < minTuneUsers {
		return nil, 0, nil // too little behaviour to tune on: serving keeps its configured weights
	}
	res, err := recommend.TuneWeights(ctx, cases, recommend.ServingGrid(vecs != nil), func(ranked []int, relevant map[int]bool) float64 {
		return metrics.IndexNDCG(ranked, relevant, tuneK)
	}, recommend.WithCutoff(tuneK))
	if err != nil {
		return nil, 0, err
	}
	return res.Weights, res.Score, nil
}

// heldOutUser is a validation user: their dataset index and held-out items.
type heldOutUser struct {
	index   int
	heldOut []int
}

// heldOutUsers groups the held-out events by user (known users and items
// only), in the order the users first appear, at most maxTuneUsers.
func heldOutUsers(d *recommend.Dataset, valid []recommend.Interaction) []heldOutUser {
	var out []heldOutUser
	at := map[int]int{}
	for _, h := range valid {
		u, ok := d.UserIndex(h.User)
		i, ok2 := d.ItemIndex(h.Item)
		if !ok || !ok2 {
			continue
		}
		k, seen := at[u]
		if !seen {
			if len(out) == maxTuneUsers {
				continue
			}
			k = len(out)
			at[u] = k
			out = append(out, heldOutUser{index: u})
		}
		if !slices.Contains(out[k].heldOut, i) {
			out[k].heldOut = append(out[k].heldOut, i)
		}
	}
	return out
}

// itemVectors are the serving space's fused vectors indexed like d's items
// (nil entries: no vector); nil without vectors.
func itemVectors(ctx context.Context, cs ContentStore, d *recommend.Dataset) ([][]float32, error) {
	sp, err := cs.ActiveSpace(ctx)
	if err != nil {
		return nil, nil // no vector space yet: tune without content
	}
	ids := make([]string, d.NumItems())
	for i := range ids {
		ids[i] = d.ItemID(i)
	}
	m, err := cs.ProductVectors(ctx, sp.Version, ids)
	if err != nil || len(m) == 0 {
		return nil, err
	}
	out := make([][]float32, len(ids))
	for i, id := range ids {
		out[i] = m[id]
	}
	return out, nil
}
