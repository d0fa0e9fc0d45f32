package api

import (
	"context"
	"errors"
	"math"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/vitrinehq/vitrine/ranking"
	"github.com/vitrinehq/vitrine/recommend"
	"github.com/vitrinehq/vitrine/store"
)

// hybrid blends collaborative filtering (the user's factors, or factors
// folded in from their events when they arrived after the last training),
// content (the user vector against fused product vectors) and popularity.
// Each source's scores are z-normalised per request, then weighted (by
// the user's variant's weights, else those training tuned, else the
// configured ones).
// It returns the blended candidates, best first (empty when the user has
// neither factors nor a content vector).
func (s *Server) hybrid(ctx context.Context, uid string, pool int, bought []string, cf store.CFModel, user []float32, hasContent bool, p params) ([]ranking.Result, error) {
	sp, _, err := s.activeSpace(ctx)
	if err != nil {
		return nil, err
	}
	uf, err := s.userFactors(ctx, cf, uid)
	if err != nil {
		return nil, err
	}
	if uf == nil && !hasContent {
		return nil, nil
	}
	var cands []string
	seen := map[string]bool{}
	add := func(id string) {
		if !seen[id] && !slices.Contains(bought, id) {
			seen[id] = true
			cands = append(cands, id)
		}
	}
	// The three retrievals, and then the two lookups, are independent:
	// run each set concurrently, so a request waits for the slowest query
	// rather than their sum.
	var (
		top, pop []store.Scored
		nn       []store.Neighbor
	)
	g, gctx := errgroup.WithContext(ctx)
	if uf != nil {
		g.Go(func() (err error) {
			top, err = s.deps.Store.TopItemsByFactors(gctx, cf, uf, pool, bought)
			return err
		})
	}
	if hasContent {
		g.Go(func() (err error) {
			nn, err = s.deps.Store.Nearest(gctx, store.NearestQuery{Space: sp.Version, Vector: user, K: pool, Filter: catalogExclude(bought)})
			return err
		})
	}
	g.Go(func() (err error) {
		pop, err = s.deps.Store.PopularProducts(gctx, time.Now(), pool/2)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for _, x := range top {
		add(x.ProductID)
	}
	for _, n := range nn {
		add(n.ProductID)
	}
	popScore := map[string]float64{}
	for _, p := range pop {
		popScore[p.ProductID] = p.Score
		add(p.ProductID)
	}
	if len(cands) == 0 {
		return nil, nil
	}
	var factors, vecs map[string][]float32
	g, gctx = errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		factors, err = s.deps.Store.ItemFactors(gctx, cf.Version, cands)
		return err
	})
	g.Go(func() (err error) {
		vecs, err = s.deps.Store.ProductVectors(gctx, sp.Version, cands)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	parts := map[string][]float64{"collaborative": nan(len(cands)), "content": nan(len(cands)), "popularity": make([]float64, len(cands))}
	for i, id := range cands {
		if f, ok := factors[id]; ok && uf != nil {
			parts["collaborative"][i] = dot(uf, f)
		}
		if v, ok := vecs[id]; ok && hasContent {
			parts["content"][i] = ranking.Cosine(user, v)
		}
		parts["popularity"][i] = math.Log1p(popScore[id])
	}
	weights := blendWeights(cf, p.configuredBlend())
	for name, w := range p.blend { // the A/B variant's own weights win
		weights[name] = w
	}
	total, err := recommend.Blend(parts, weights)
	if err != nil {
		return nil, err
	}
	rs := make([]ranking.Result, len(cands))
	for i, id := range cands {
		r := ranking.Result{ProductID: id, Score: total[i]}
		for _, name := range []string{"collaborative", "content", "popularity"} {
			if v := parts[name][i]; !math.IsNaN(v) {
				r.Parts = append(r.Parts, ranking.Part{Name: name, Score: v})
			}
		}
		rs[i] = r
	}
	ranking.Sort(rs)
	return rs, nil
}

// userFactors returns the user's trained factors, or folds them in from
// the user's events (ALS models) when the user is newer than the model;
// nil when neither is possible.
func (s *Server) userFactors(ctx context.Context, cf store.CFModel, uid string) ([]float32, error) {
	uf, err := s.deps.Store.UserFactors(ctx, cf.Version, uid)
	if err == nil {
		return uf, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if cf.Method != "als" {
		return nil, nil
	}
	evs, err := s.deps.Store.UserEvents(ctx, uid, 200)
	if err != nil || len(evs) == 0 {
		return nil, err
	}
	ids := make([]string, 0, len(evs))
	for _, e := range evs {
		ids = append(ids, e.ProductID)
	}
	f, err := s.deps.Store.ItemFactors(ctx, cf.Version, ids)
	if err != nil {
		return nil, err
	}
	// Sum each item's event weights, as training does.
	weight := map[string]float64{}
	for _, e := range evs {
		weight[e.ProductID] += ranking.EventWeight(e.Type, e.Value)
	}
	var items [][]float32
	var values []float64
	for id, w := range weight {
		if fv, ok := f[id]; ok && w != 0 {
			items, values = append(items, fv), append(values, w)
		}
	}
	if len(items) == 0 {
		return nil, nil
	}
	alpha, _ := cf.Params["alpha"].(float64)
	if alpha == 0 {
		alpha = 1
	}
	return recommend.FoldInImplicit(cf.Gram, items, values, alpha)
}

// explainBecause adds to each hit the one or two products in the user's
// recent history most similar to it (in the fused space).
func (s *Server) explainBecause(ctx context.Context, uid string, space int, hits []Hit) error {
	history, err := s.deps.Store.UserEvents(ctx, uid, historyForWhy)
	if err != nil || len(history) == 0 {
		return err
	}
	ids := make([]string, 0, len(history)+len(hits))
	var hids []string
	for _, e := range history {
		hids = append(hids, e.ProductID)
	}
	ids = append(ids, hids...)
	for _, h := range hits {
		ids = append(ids, h.ID)
	}
	vecs, err := s.deps.Store.ProductVectors(ctx, space, ids)
	if err != nil {
		return err
	}
	titles, err := s.deps.Store.GetProducts(ctx, hids)
	if err != nil {
		return err
	}
	var hist []ranking.Candidate
	for _, id := range hids {
		if v, ok := vecs[id]; ok {
			hist = append(hist, ranking.Candidate{ProductID: id, Vector: v})
		}
	}
	for i := range hits {
		hits[i].Because = nil
		for _, b := range ranking.BecauseOf(vecs[hits[i].ID], hist, 2) {
			hits[i].Because = append(hits[i].Because, Because{ID: b.ProductID, Title: titles[b.ProductID].Title, Similarity: b.Score})
		}
	}
	return nil
}

// blendWeights prefers the weights `vitrine train` tuned on held-out
// behaviour (stored with the model) over the configured ones.
func blendWeights(cf store.CFModel, configured map[string]float64) map[string]float64 {
	tuned, ok := cf.Params["blend"].(map[string]any)
	if !ok || len(tuned) == 0 {
		return configured
	}
	out := map[string]float64{}
	for k, v := range tuned {
		if f, ok := v.(float64); ok {
			out[k] = f
		}
	}
	if len(out) == 0 {
		return configured
	}
	return out
}

func nan(n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = math.NaN()
	}
	return out
}

func dot(a, b []float32) float64 {
	var s float64
	for i := range min(len(a), len(b)) {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}
