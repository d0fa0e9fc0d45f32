package serving

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

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
	if _, err := s.d.Catalog.GetProduct(ctx, id); err != nil {
		return SimilarResult{}, err
	}
	sp, spec, err := s.ActiveSpace(ctx)
	if err != nil {
		return SimilarResult{}, err
	}
	vecs, err := s.d.Vectors.ProductVectors(ctx, sp.Version, []string{id})
	if err != nil {
		return SimilarResult{}, err
	}
	v, ok := vecs[id]
	if !ok {
		return SimilarResult{}, fmt.Errorf("%w: product %q has no vector in space %d", ErrNotIndexed, id, sp.Version)
	}
	nn, err := s.d.Vectors.Nearest(ctx, records.NearestQuery{Space: sp.Version, Vector: v, K: k, Filter: catalog.Filter{Exclude: []string{id}}})
	if err != nil {
		return SimilarResult{}, err
	}
	ids := nearestIDs(nn)
	ids, factors, err := s.boughtTogether(ctx, id, k, ids)
	if err != nil {
		return SimilarResult{}, err
	}
	pv, err := s.d.Vectors.ProductVectors(ctx, sp.Version, ids)
	if err != nil {
		return SimilarResult{}, err
	}
	cands := make([]ranking.Candidate, 0, len(ids))
	for _, id := range ids {
		cands = append(cands, ranking.Candidate{ProductID: id, Vector: pv[id]})
	}
	rs := ranking.ByVector(spec, v, cands, true)
	if f, ok := factors[id]; ok {
		rs = blendSimilar(rs, f, factors)
	}
	if len(rs) > k {
		rs = rs[:k]
	}
	hits, err := s.hydrate(ctx, rs, true)
	if err != nil {
		return SimilarResult{}, err
	}
	return SimilarResult{ProductID: id, Hits: hits, Assignment: p.Assignment}, nil
}

// boughtTogether adds to the candidates the k products whose item factors
// are nearest the product's, and returns the factors of all of them and
// of the product (none without a trained model or when the model does not
// know the product).
func (s *Service) boughtTogether(ctx context.Context, id string, k int, ids []string) ([]string, map[string][]float32, error) {
	cf, err := s.currentCF(ctx)
	if errors.Is(err, records.ErrNoCFModel) {
		return ids, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	factors, err := s.d.Factors.ItemFactors(ctx, cf.Version, []string{id})
	if err != nil {
		return nil, nil, err
	}
	f, ok := factors[id]
	if !ok {
		return ids, nil, nil
	}
	top, err := s.d.Factors.TopItemsByFactors(ctx, cf, f, k, []string{id})
	if err != nil {
		return nil, nil, err
	}
	for _, x := range top {
		if !slices.Contains(ids, x.ProductID) {
			ids = append(ids, x.ProductID)
		}
	}
	factors, err = s.d.Factors.ItemFactors(ctx, cf.Version, append(slices.Clone(ids), id))
	return ids, factors, err
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
