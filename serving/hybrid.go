package serving

import (
	"context"
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
	u     recoUser // what was read about the user
	pool  int      // candidates per source
	space int
	p     Params
	// served are the components training chose when one is item-based
	// (nil: the factors alone); chosen their scores of this user.
	served []servedComponent
	chosen map[string]map[string]float64
}

// hybridSources are the retrievals' outputs.
type hybridSources struct {
	uf    []float32 // the user's factors (trained or folded in); nil when none
	top   []records.Scored
	nn    []records.Neighbor
	reads candidateReads // the candidates' (and the history's) factors, vectors, products
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
// when the user has neither factors nor a content vector), the fused
// vectors of the candidates and of the history explanations read, and the
// products read with them.
func (s *Service) hybrid(ctx context.Context, q hybridQuery) ([]ranking.Result, map[string][]float32, map[string]catalog.Product, error) {
	q.served = servedChoice(q.u.cf)
	src, err := s.retrieveSources(ctx, &q)
	if err != nil {
		return nil, nil, nil, err
	}
	if src.uf == nil && q.u.vector == nil && len(chosenCandidates(q.chosen, 1)) == 0 {
		return nil, nil, nil, nil
	}
	cands := q.candidateIDs(src.top, src.nn)
	if len(cands) == 0 {
		return nil, nil, nil, nil
	}
	reads, err := s.completeReads(ctx, q, src.reads, appendNew(slices.Clone(cands), q.u.whyIDs()))
	if err != nil {
		return nil, nil, nil, err
	}
	popScore := map[string]float64{}
	for _, p := range q.u.pop {
		popScore[p.ProductID] = p.Score
	}
	parts, err := blendParts(q, src.uf, cands, popScore, reads)
	if err != nil {
		return nil, nil, nil, err
	}
	weights := blendWeights(q.u.cf, q.p.configuredBlend())
	for name, w := range q.p.Blend { // the A/B variant's own weights win
		weights[name] = w
	}
	total, err := recommend.Blend(parts, weights)
	if err != nil {
		return nil, nil, nil, err
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
	return rs, reads.vecs, reads.products, nil
}

// candidateIDs are the pool's candidates: the item-based choice's, the
// factors' top items, the content's nearest products, then the popular
// products, each once, none the user bought.
func (q hybridQuery) candidateIDs(top []records.Scored, nn []records.Neighbor) []string {
	var cands []string
	seen := map[string]bool{}
	add := func(id string) {
		if !seen[id] && !slices.Contains(q.u.bought, id) {
			seen[id] = true
			cands = append(cands, id)
		}
	}
	for _, id := range chosenCandidates(q.chosen, q.pool) {
		add(id)
	}
	for _, x := range top {
		add(x.ProductID)
	}
	for _, n := range nn {
		add(n.ProductID)
	}
	for _, p := range q.u.pop {
		add(p.ProductID)
	}
	return cands
}

// retrieveSources runs the retrievals concurrently, so a request waits for
// the slowest rather than their sum: the item-based components' scores
// (into q.chosen), the factors' top items (after folding a new user in)
// and the user vector's nearest products. A user retrieved for from the
// same inputs (model, space, pool, purchases, latest events, vector and
// factors) within the retrieval TTL reuses that retrieval, from this
// process's cache or from the store (recommend_shared.go).
func (s *Service) retrieveSources(ctx context.Context, q *hybridQuery) (hybridSources, error) {
	u := q.u
	digest := newDigester().int(int64(u.cf.Version)).int(int64(q.space)).int(int64(q.pool)).
		strs(u.bought).events(u.history).floats(u.vector).floats(u.factors).sum()
	r, err := s.cachedRetrieval(ctx, "u"+u.id, digest, sharedOf(u), func(ctx context.Context) (retrieval, error) {
		return s.retrieveUser(ctx, *q)
	})
	if err != nil {
		return hybridSources{}, err
	}
	q.chosen = r.chosen
	return hybridSources{uf: r.uf, top: r.top, nn: r.nn, reads: r.reads}, nil
}

// retrieveUser runs retrieveSources' retrievals.
func (s *Service) retrieveUser(ctx context.Context, q hybridQuery) (retrieval, error) {
	r := retrieval{uf: q.u.factors}
	g, gctx := errgroup.WithContext(ctx)
	if q.served != nil {
		g.Go(func() (err error) {
			r.chosen, err = s.chosenScores(gctx, q.u.cf, q.served, q.u.history)
			return err
		})
	}
	g.Go(func() (err error) {
		if r.uf == nil {
			if r.uf, err = s.foldIn(gctx, q.u.cf, q.u.history); err != nil {
				return err
			}
		}
		if r.uf != nil && q.servesFactors() {
			r.top, err = s.d.Factors.TopItemsByFactors(gctx, q.u.cf, r.uf, q.pool, q.u.bought)
		}
		return err
	})
	if q.u.vector != nil {
		g.Go(func() (err error) {
			r.nn, err = s.contentLeg(gctx, q.u, q.space, q.pool)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return r, err
	}
	q.chosen = r.chosen
	var err error
	r.reads, err = s.completeReads(ctx, q, candidateReads{}, appendNew(q.candidateIDs(r.top, r.nn), q.u.whyIDs()))
	return r, err
}

// candidateReads are the item factors, fused vectors and brands and
// categories (as products holding only those) of the products in read (a
// product may lack any: deleted products are absent from products).
type candidateReads struct {
	read          map[string]bool
	factors, vecs map[string][]float32
	products      map[string]catalog.Product
}

// completeReads returns have with the factors, vectors, brands and
// categories of the ids it lacks read in one query
// (Catalog.CandidateFeatures) (have itself when it lacks none; it is never
// modified, so a cached retrieval's reads are shared).
func (s *Service) completeReads(ctx context.Context, q hybridQuery, have candidateReads, ids []string) (candidateReads, error) {
	var missing []string
	for _, id := range ids {
		if !have.read[id] {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return have, nil
	}
	fs, err := s.d.Catalog.CandidateFeatures(ctx, q.space, q.u.cf.Version, missing)
	if err != nil {
		return have, err
	}
	vecs, ps := featureMaps(fs)
	factors := featureFactors(fs)
	out := candidateReads{read: maps.Clone(have.read), factors: maps.Clone(have.factors), vecs: maps.Clone(have.vecs), products: maps.Clone(have.products)}
	if out.read == nil {
		out = candidateReads{read: map[string]bool{}, factors: map[string][]float32{}, vecs: map[string][]float32{}, products: map[string]catalog.Product{}}
	}
	for _, id := range missing {
		out.read[id] = true
	}
	maps.Copy(out.factors, factors)
	maps.Copy(out.vecs, vecs)
	maps.Copy(out.products, ps)
	return out, nil
}

// blendParts scores each candidate by each source (NaN where a source has
// nothing to say: no factors, no vector) from the factors and vectors
// read.
func blendParts(q hybridQuery, uf []float32, cands []string, popScore map[string]float64, reads candidateReads) (map[string][]float64, error) {
	parts := map[string][]float64{recommend.SourceCollaborative: nan(len(cands)), recommend.SourceContent: nan(len(cands)), recommend.SourcePopularity: make([]float64, len(cands))}
	for i, id := range cands {
		if f, ok := reads.factors[id]; ok && uf != nil {
			if d, err := vecmath.Dot(uf, f); err == nil {
				parts[recommend.SourceCollaborative][i] = d
			}
		}
		if v, ok := reads.vecs[id]; ok && q.u.vector != nil {
			if c, err := vecmath.Cosine(q.u.vector, v); err == nil {
				parts[recommend.SourceContent][i] = c
			}
		}
		parts[recommend.SourcePopularity][i] = math.Log1p(popScore[id])
	}
	if q.served != nil {
		cfPart, err := chosenPart(q.served, q.u.cf, q.chosen, parts[recommend.SourceCollaborative], cands)
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
		if c.Method == q.u.cf.Method {
			return true
		}
	}
	return false
}

// foldIn folds a user the model lacks in from their latest events (ALS
// models; history is newest first); nil when that is not possible.
func (s *Service) foldIn(ctx context.Context, cf records.CFModel, history []catalog.Event) ([]float32, error) {
	if cf.Method != "als" || len(history) == 0 {
		return nil, nil
	}
	evs := history[:min(foldInEvents, len(history))]
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
