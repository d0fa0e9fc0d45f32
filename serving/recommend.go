package serving

import (
	"context"
	"errors"
	"slices"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/ranking"
	"github.com/vitrinehq/vitrine/recommend"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/vecmath"
)

// Short names of recommend's blend sources (SourceCollaborative,
// SourceContent, SourcePopularity), the names result parts, the stored
// blend weights and the offline evaluation share; the parameter and
// similar-product code use these.
const (
	sourceCF         = recommend.SourceCollaborative
	sourceContent    = recommend.SourceContent
	sourcePopularity = recommend.SourcePopularity
)

// Strategies that answer a recommendation request.
const (
	// StrategyHybrid blends collaborative filtering, content and popularity
	// (a trained model is active).
	StrategyHybrid = "hybrid"
	// StrategyContent ranks by the user's vector (no trained model).
	StrategyContent = "content"
	// StrategyPopular is the cold-start answer: the most popular products.
	StrategyPopular = "popular"
)

// RecommendRequest asks for a user's recommendations.
type RecommendRequest struct {
	UserID string
	K      int // 0: DefaultK
	Rerank Rerank
}

// Rerank holds a request's re-ranking wishes; zero values keep the
// defaults (the variant's or configured MMR lambda, no caps, no share).
type Rerank struct {
	// MMRLambda: 1 keeps relevance order, lower diversifies; nil keeps the
	// default.
	MMRLambda *float64
	// MaxPerCategory and MaxPerBrand cap the items per category (first two
	// levels of the path) and per brand (0: no cap).
	MaxPerCategory, MaxPerBrand int
	// MaxBrandShare caps any brand's share of position-weighted exposure,
	// in (0, 1] (0: off).
	MaxBrandShare float64
}

// RecommendResult is a user's recommendations.
type RecommendResult struct {
	UserID   string
	Strategy string // StrategyHybrid, StrategyContent or StrategyPopular
	// CFModel is the collaborative-filtering model version (hybrid only).
	CFModel int
	// Hits carry their blend parts and "because" explanations.
	Hits []Hit
	// BrandExposureGini is the Gini of the brands' position-weighted
	// exposure in the list (nil for the popular fallback).
	BrandExposureGini *float64
	Assignment
}

// Recommend retrieves candidates (hybrid with a trained model, else by the
// user's vector), re-ranks them (MMR, caps, brand share), explains each by
// the user's history, and falls back to popular products for a user with
// neither factors nor a vector. Products the user bought are excluded.
func (s *Service) Recommend(ctx context.Context, req RecommendRequest) (RecommendResult, error) {
	k := req.K
	if k == 0 {
		k = DefaultK
	}
	if err := firstErr(checkK(k), checkUser("user_id", req.UserID)); err != nil {
		return RecommendResult{}, err
	}
	p := s.Params(req.UserID)
	o, err := rerankOptions(req.Rerank, p.MMRLambda)
	if err != nil {
		return RecommendResult{}, err
	}
	uid := req.UserID
	sp, _, err := s.ActiveSpace(ctx)
	if err != nil {
		return RecommendResult{}, err
	}
	bought, err := s.d.Events.Purchased(ctx, uid)
	if err != nil {
		return RecommendResult{}, err
	}
	res := RecommendResult{UserID: uid, Assignment: p.Assignment}
	rs, err := s.candidates(ctx, &res, sp, bought, p, recommend.ServingPool(k)) // re-rankers need room to choose
	if err != nil {
		return RecommendResult{}, err
	}
	if len(rs) == 0 {
		res.Strategy, res.CFModel = StrategyPopular, 0
		res.Hits, err = s.popular(ctx, k, bought)
		return res, err
	}
	rs, gini, err := s.rerank(ctx, sp.Version, rs, k, o)
	if err != nil {
		return RecommendResult{}, err
	}
	res.BrandExposureGini = &gini
	if res.Hits, err = s.hydrate(ctx, rs, true); err != nil {
		return RecommendResult{}, err
	}
	if err := s.explainBecause(ctx, uid, sp.Version, res.Hits); err != nil {
		return RecommendResult{}, err
	}
	return res, nil
}

// candidates retrieves and scores a pool of candidates: hybrid with a
// trained model, else by the user's vector; empty for a cold user.
func (s *Service) candidates(ctx context.Context, res *RecommendResult, sp records.Space, bought []string, p Params, pool int) ([]ranking.Result, error) {
	uv, err := s.d.Users.GetUserVector(ctx, res.UserID, sp.Version)
	if err != nil && !errors.Is(err, records.ErrNotFound) {
		return nil, err
	}
	var user []float32
	if err == nil && !vecmath.IsZero(uv.Vector) {
		user = uv.Vector
	}
	cf, err := s.d.Factors.ActiveCFModel(ctx)
	switch {
	case err == nil:
		res.Strategy, res.CFModel = StrategyHybrid, cf.Version
		return s.hybrid(ctx, hybridQuery{uid: res.UserID, pool: pool, bought: bought, cf: cf, user: user, space: sp.Version, p: p})
	case !errors.Is(err, records.ErrNoCFModel):
		return nil, err
	}
	res.Strategy = StrategyContent
	if user == nil {
		return nil, nil
	}
	_, spec, err := s.ActiveSpace(ctx)
	if err != nil {
		return nil, err
	}
	nn, err := s.d.Vectors.Nearest(ctx, records.NearestQuery{Space: sp.Version, Vector: user, K: pool, Filter: catalog.Filter{Exclude: bought}})
	if err != nil {
		return nil, err
	}
	ids := nearestIDs(nn)
	vecs, err := s.d.Vectors.ProductVectors(ctx, sp.Version, ids)
	if err != nil {
		return nil, err
	}
	cands := make([]ranking.Candidate, 0, len(ids))
	for _, id := range ids {
		cands = append(cands, ranking.Candidate{ProductID: id, Vector: vecs[id]})
	}
	return ranking.ByVector(spec, user, cands, true), nil
}

// popular answers cold-start users with the most popular products they
// have not bought. It never returns a nil slice.
func (s *Service) popular(ctx context.Context, k int, exclude []string) ([]Hit, error) {
	pop, err := s.d.Events.PopularProducts(ctx, s.now(), k+len(exclude))
	if err != nil {
		return nil, err
	}
	var rs []ranking.Result
	for _, p := range pop {
		if !slices.Contains(exclude, p.ProductID) && len(rs) < k {
			rs = append(rs, ranking.Result{ProductID: p.ProductID, Score: p.Score, Parts: []ranking.Part{{Name: recommend.SourcePopularity, Score: p.Score}}})
		}
	}
	return s.hydrate(ctx, rs, true)
}

// explainBecause adds to each hit the one or two products in the user's
// recent history most similar to it (in the fused space).
func (s *Service) explainBecause(ctx context.Context, uid string, space int, hits []Hit) error {
	history, err := s.d.Events.UserEvents(ctx, uid, historyForWhy)
	if err != nil || len(history) == 0 {
		return err
	}
	hids := make([]string, 0, len(history))
	for _, e := range history {
		hids = append(hids, e.ProductID)
	}
	vecs, err := s.d.Vectors.ProductVectors(ctx, space, append(slices.Clone(hids), IDs(hits)...))
	if err != nil {
		return err
	}
	titles, err := s.d.Catalog.GetProducts(ctx, hids)
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
