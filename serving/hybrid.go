package serving

import (
	"context"
	"errors"
	"maps"
	"math"
	"slices"

	"golang.org/x/sync/errgroup"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/ranking"
	"github.com/vitrinehq/vitrine/recommend"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/vecmath"
)

// hybridQuery is one hybrid recommendation retrieval.
type hybridQuery struct {
	uid    string
	pool   int // candidates per source
	bought []string
	cf     records.CFModel
	user   []float32 // the user's content vector; nil when none
	space  int
	p      Params
	// served are the components training chose when one is item-based
	// (nil: the factors alone); chosen their scores of this user.
	served []servedComponent
	chosen map[string]map[string]float64
}

// hybridSources are the three retrievals' outputs.
type hybridSources struct {
	uf       []float32 // the user's factors; nil when none
	top, pop []records.Scored
	nn       []records.Neighbor
}

// hybrid blends collaborative filtering (the user's factors, or factors
// folded in from their events when they arrived after the last training;
// or, when training chose an item-based method or a blend with one, that
// choice scored from the stored neighbour lists of the user's latest
// events), content (the user vector against fused product vectors) and
// popularity.
// Each source's scores are z-normalised per request, then weighted (by
// the user's variant's weights, else those training tuned, else the
// configured ones). It returns the blended candidates, best first (empty
// when the user has neither factors nor a content vector).
func (s *Service) hybrid(ctx context.Context, q hybridQuery) ([]ranking.Result, error) {
	uf, err := s.userFactors(ctx, q.cf, q.uid)
	if err != nil {
		return nil, err
	}
	if q.served = servedChoice(q.cf); q.served != nil {
		if q.chosen, err = s.chosenScores(ctx, q.cf, q.served, q.uid); err != nil {
			return nil, err
		}
	}
	if uf == nil && q.user == nil && len(chosenCandidates(q.chosen, 1)) == 0 {
		return nil, nil
	}
	src, err := s.retrieveSources(ctx, q, uf)
	if err != nil {
		return nil, err
	}
	var cands []string
	seen := map[string]bool{}
	add := func(id string) {
		if !seen[id] && !slices.Contains(q.bought, id) {
			seen[id] = true
			cands = append(cands, id)
		}
	}
	for _, id := range chosenCandidates(q.chosen, q.pool) {
		add(id)
	}
	for _, x := range src.top {
		add(x.ProductID)
	}
	for _, n := range src.nn {
		add(n.ProductID)
	}
	popScore := map[string]float64{}
	for _, p := range src.pop {
		popScore[p.ProductID] = p.Score
		add(p.ProductID)
	}
	if len(cands) == 0 {
		return nil, nil
	}
	parts, err := s.blendParts(ctx, q, uf, cands, popScore)
	if err != nil {
		return nil, err
	}
	weights := blendWeights(q.cf, q.p.configuredBlend())
	for name, w := range q.p.Blend { // the A/B variant's own weights win
		weights[name] = w
	}
	total, err := recommend.Blend(parts, weights)
	if err != nil {
		return nil, err
	}
	rs := make([]ranking.Result, len(cands))
	for i, id := range cands {
		r := ranking.Result{ProductID: id, Score: total[i]}
		for _, name := range []string{recommend.SourceCollaborative, recommend.SourceContent, recommend.SourcePopularity} {
			if v := parts[name][i]; !math.IsNaN(v) {
				r.Parts = append(r.Parts, ranking.Part{Name: name, Score: v})
			}
		}
		rs[i] = r
	}
	ranking.Sort(rs)
	return rs, nil
}

// retrieveSources runs the three retrievals concurrently, so a request
// waits for the slowest query rather than their sum.
func (s *Service) retrieveSources(ctx context.Context, q hybridQuery, uf []float32) (hybridSources, error) {
	src := hybridSources{uf: uf}
	g, gctx := errgroup.WithContext(ctx)
	if uf != nil && q.servesFactors() {
		g.Go(func() (err error) {
			src.top, err = s.d.Factors.TopItemsByFactors(gctx, q.cf, uf, q.pool, q.bought)
			return err
		})
	}
	if q.user != nil {
		g.Go(func() (err error) {
			src.nn, err = s.d.Vectors.Nearest(gctx, records.NearestQuery{Space: q.space, Vector: q.user, K: q.pool, Filter: catalog.Filter{Exclude: q.bought}})
			return err
		})
	}
	g.Go(func() (err error) {
		src.pop, err = s.d.Events.PopularProducts(gctx, s.now(), q.pool/2)
		return err
	})
	return src, g.Wait()
}

// blendParts scores each candidate by each source (NaN where a source has
// nothing to say: no factors, no vector), reading the factors and the
// vectors concurrently.
func (s *Service) blendParts(ctx context.Context, q hybridQuery, uf []float32, cands []string, popScore map[string]float64) (map[string][]float64, error) {
	var factors, vecs map[string][]float32
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		factors, err = s.d.Factors.ItemFactors(gctx, q.cf.Version, cands)
		return err
	})
	g.Go(func() (err error) {
		vecs, err = s.d.Vectors.ProductVectors(gctx, q.space, cands)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	parts := map[string][]float64{recommend.SourceCollaborative: nan(len(cands)), recommend.SourceContent: nan(len(cands)), recommend.SourcePopularity: make([]float64, len(cands))}
	for i, id := range cands {
		if f, ok := factors[id]; ok && uf != nil {
			if d, err := vecmath.Dot(uf, f); err == nil {
				parts[recommend.SourceCollaborative][i] = d
			}
		}
		if v, ok := vecs[id]; ok && q.user != nil {
			if c, err := vecmath.Cosine(q.user, v); err == nil {
				parts[recommend.SourceContent][i] = c
			}
		}
		parts[recommend.SourcePopularity][i] = math.Log1p(popScore[id])
	}
	if q.served != nil {
		cfPart, err := chosenPart(q.served, q.cf, q.chosen, parts[recommend.SourceCollaborative], cands)
		if err != nil {
			return nil, err
		}
		parts[recommend.SourceCollaborative] = cfPart
	}
	return parts, nil
}

// servesFactors reports whether the stored factors are served: no
// item-based choice, or a blend that includes the factor method.
func (q hybridQuery) servesFactors() bool {
	if q.served == nil {
		return true
	}
	for _, c := range q.served {
		if c.Method == q.cf.Method {
			return true
		}
	}
	return false
}

// userFactors returns the user's trained factors, or folds them in from
// the user's events (ALS models) when the user is newer than the model;
// nil when neither is possible.
func (s *Service) userFactors(ctx context.Context, cf records.CFModel, uid string) ([]float32, error) {
	uf, err := s.d.Factors.UserFactors(ctx, cf.Version, uid)
	if err == nil {
		return uf, nil
	}
	if !errors.Is(err, records.ErrNotFound) {
		return nil, err
	}
	if cf.Method != "als" {
		return nil, nil
	}
	evs, err := s.d.Events.UserEvents(ctx, uid, foldInEvents)
	if err != nil || len(evs) == 0 {
		return nil, err
	}
	ids := make([]string, 0, len(evs))
	for _, e := range evs {
		ids = append(ids, e.ProductID)
	}
	f, err := s.d.Factors.ItemFactors(ctx, cf.Version, ids)
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
	for _, id := range slices.Sorted(maps.Keys(weight)) {
		if fv, ok := f[id]; ok && weight[id] != 0 {
			items, values = append(items, fv), append(values, weight[id])
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

// blendWeights prefers the weights `vitrine train` tuned on held-out
// behaviour (stored with the model) over the configured ones.
func blendWeights(cf records.CFModel, configured map[string]float64) map[string]float64 {
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
