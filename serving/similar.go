package serving

import (
	"context"
	"fmt"
	"math"
	"slices"

	"golang.org/x/sync/errgroup"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/ranking"
	"github.com/vitrinehq/vitrine/recommend"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/vecmath"
)

// SimilarRequest asks for the products most like one product.
type SimilarRequest struct {
	ProductID string
	K         int    // 0: DefaultK
	UserID    string // picks the A/B variant; "" is anonymous
}

// SimilarResult lists similar products, best first, explained.
type SimilarResult struct {
	ProductID string
	Hits      []Hit
	Assignment
}

// Similar ranks the product's nearest neighbours in the fused space; with
// a trained model, products bought by the same people join the candidates
// and the item factors' cosine joins the score (a z-normalised blend of
// content and collaborative similarity). An unknown product is
// records.ErrNotFound, one without a vector ErrNotIndexed.
//
// It reads in four rounds: the active model's version; the product's
// liveness, vector and factors in one query; its nearest products by
// vector (its stored content-neighbour list when fresh, the one the
// recommendations' content leg unions) and by factors, concurrently
// (reused for the retrieval TTL while the product's vector and factors
// are unchanged); the candidates' vectors and factors in one query beside
// their products.
func (s *Service) Similar(ctx context.Context, req SimilarRequest) (SimilarResult, error) {
	k := req.K
	if k == 0 {
		k = DefaultK
	}
	if err := firstErr(checkK(k), checkUser("user_id", req.UserID)); err != nil {
		return SimilarResult{}, err
	}
	p := s.Params(req.UserID)
	id := req.ProductID
	sp, spec, err := s.ActiveSpace(ctx)
	if err != nil {
		return SimilarResult{}, err
	}
	seed, err := s.similarSeed(ctx, sp.Version, id)
	if err != nil {
		return SimilarResult{}, err
	}
	ids, err := s.similarCandidates(ctx, sp.Version, id, k, seed)
	if err != nil {
		return SimilarResult{}, err
	}
	var fs map[string]records.CandidateFeatures
	var ps map[string]catalog.Product
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		fs, err = s.d.Catalog.CandidateFeatures(gctx, sp.Version, seed.cf.Version, ids)
		return err
	})
	g.Go(func() (err error) {
		ps, err = s.d.Catalog.GetProducts(gctx, ids)
		return err
	})
	if err := g.Wait(); err != nil {
		return SimilarResult{}, err
	}
	pv, _ := featureMaps(fs)
	factors := map[string][]float32{}
	if seed.factors != nil {
		factors = featureFactors(fs)
	}
	cands := make([]ranking.Candidate, 0, len(ids))
	for _, id := range ids {
		cands = append(cands, ranking.Candidate{ProductID: id, Vector: pv[id]})
	}
	rs := ranking.ByVector(spec, seed.vector, cands, true)
	if seed.factors != nil {
		rs = blendSimilar(rs, seed.factors, factors)
	}
	rs = slices.DeleteFunc(rs, func(r ranking.Result) bool { _, ok := ps[r.ProductID]; return !ok }) // deleted since
	if len(rs) > k {
		rs = rs[:k]
	}
	return SimilarResult{ProductID: id, Hits: hitsOf(rs, ps, true), Assignment: p.Assignment}, nil
}

// similarSeed is what Similar starts from: the product's fused vector and,
// with a trained model that knows it, its item factors.
type similarSeed struct {
	vector  []float32
	cf      records.CFModel
	factors []float32 // nil without a model or when it lacks the product
}

// similarSeed reads the active model's version (the model row from the
// cache), then the product's liveness (to tell an unknown one), vector
// and factors in one read (Catalog.CandidateFeatures).
func (s *Service) similarSeed(ctx context.Context, space int, id string) (similarSeed, error) {
	var seed similarSeed
	cf, err := s.currentCF(ctx)
	if err == nil {
		seed.cf = cf
	} else if err = ignoreNoModel(err); err != nil {
		return seed, err
	}
	fs, err := s.d.Catalog.CandidateFeatures(ctx, space, seed.cf.Version, []string{id})
	if err != nil {
		return seed, err
	}
	f := fs[id]
	if !f.Live {
		return seed, fmt.Errorf("product %q: %w", id, records.ErrNotFound)
	}
	if f.Vector == nil {
		return seed, fmt.Errorf("%w: product %q has no vector in space %d", ErrNotIndexed, id, space)
	}
	seed.vector, seed.factors = f.Vector, f.Factors
	return seed, nil
}

// similarCandidates are the product's k nearest products by vector and,
// with factors, the k with the nearest item factors (bought by the same
// people), read concurrently; the product itself left out. A product
// retrieved for from the same vector, factors, space and model within
// the retrieval TTL reuses that retrieval. Callers must not modify the ids.
func (s *Service) similarCandidates(ctx context.Context, space int, id string, k int, seed similarSeed) ([]string, error) {
	digest := newDigester().int(int64(space)).int(int64(seed.cf.Version)).int(int64(k)).floats(seed.vector).floats(seed.factors).sum()
	r, err := s.cachedRetrieval(ctx, "p"+id, digest, nil, func(ctx context.Context) (r retrieval, err error) {
		r.ids, err = s.retrieveSimilar(ctx, space, id, k, seed)
		return r, err
	})
	return r.ids, err
}

// retrieveSimilar runs similarCandidates' retrievals.
func (s *Service) retrieveSimilar(ctx context.Context, space int, id string, k int, seed similarSeed) ([]string, error) {
	var nn []records.Neighbor
	var top []records.Scored
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		nn, err = s.productNearest(gctx, space, id, seed.vector, k)
		return err
	})
	if seed.factors != nil {
		g.Go(func() (err error) {
			top, err = s.d.Factors.TopItemsByFactors(gctx, seed.cf, seed.factors, k, []string{id})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	ids := nearestIDs(nn)
	for _, x := range top {
		if !slices.Contains(ids, x.ProductID) {
			ids = append(ids, x.ProductID)
		}
	}
	return ids, nil
}

// blendSimilar adds the item-factor cosine as a "collaborative" part and
// re-scores by the z-normalised sum of content and collaborative similarity.
func blendSimilar(rs []ranking.Result, f []float32, factors map[string][]float32) []ranking.Result {
	content, collab := make([]float64, len(rs)), make([]float64, len(rs))
	for i, r := range rs {
		content[i] = r.Score
		collab[i] = math.NaN()
		if g, ok := factors[r.ProductID]; ok {
			if c, err := vecmath.Cosine(f, g); err == nil {
				collab[i] = c
				rs[i].Parts = append(rs[i].Parts, ranking.Part{Name: sourceCF, Score: c})
			}
		}
	}
	total, err := recommend.Blend(map[string][]float64{sourceContent: content, sourceCF: collab},
		map[string]float64{sourceContent: 1, sourceCF: 1})
	if err != nil {
		return rs
	}
	for i := range rs {
		rs[i].Score = total[i]
	}
	ranking.Sort(rs)
	return rs
}
