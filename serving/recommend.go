package serving

import (
	"context"
	"errors"
	"slices"

	"golang.org/x/sync/errgroup"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/fusion"
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
//
// The user's state (purchases, latest events, vector, factors) is read once,
// concurrently, and shared by exclusion, retrieval, the item-based scores
// and the explanations. The retrieval, with the candidates' and the
// history's vectors and the candidates' products, is reused for
// the retrieval TTL while that state is unchanged (recommend_cache.go), by
// every process through the store, and refreshed in the background when
// the user's events arrive (recommend_shared.go); the products shown, and
// those explaining them, are read per request.
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
	sp, spec, err := s.ActiveSpace(ctx)
	if err != nil {
		return RecommendResult{}, err
	}
	pool := recommend.ServingPool(k) // re-rankers need room to choose
	u, err := s.readUser(ctx, req.UserID, sp.Version, pool)
	if err != nil {
		return RecommendResult{}, err
	}
	s.noticeVersions(sp.Version, u.cf.Version)
	res := RecommendResult{UserID: u.id, Assignment: p.Assignment}
	rs, vecs, groups, err := s.candidates(ctx, &res, sp.Version, spec, u, p, pool)
	if err != nil {
		return RecommendResult{}, err
	}
	if len(rs) == 0 {
		res.Strategy, res.CFModel = StrategyPopular, 0
		res.Hits, err = s.popular(ctx, k, u.bought, u.pop)
		return res, err
	}
	rs = slices.DeleteFunc(rs, func(r ranking.Result) bool { _, ok := groups[r.ProductID]; return !ok })
	hits, gini, err := s.finalHits(ctx, rs, k, o, groups, vecs, u.whyIDs())
	if err != nil {
		return RecommendResult{}, err
	}
	res.Hits, res.BrandExposureGini = hits, &gini
	return res, nil
}

// finalRerankTries bounds the re-rankings finalHits runs when products it
// keeps were deleted since their retrieval.
const finalRerankTries = 3

// featureMaps splits candidate features into the vectors and the live
// products' brands and categories (as products holding only those), the
// maps re-ranking reads.
func featureMaps(fs map[string]records.CandidateFeatures) (map[string][]float32, map[string]catalog.Product) {
	vecs := make(map[string][]float32, len(fs))
	groups := make(map[string]catalog.Product, len(fs))
	for id, f := range fs {
		if f.Vector != nil {
			vecs[id] = f.Vector
		}
		if f.Live {
			groups[id] = catalog.Product{ID: id, Brand: f.Brand, Category: f.Category}
		}
	}
	return vecs, groups
}

// featureFactors is the item factors among candidate features (a product
// the model lacks has none).
func featureFactors(fs map[string]records.CandidateFeatures) map[string][]float32 {
	factors := make(map[string][]float32, len(fs))
	for id, f := range fs {
		if f.Factors != nil {
			factors[id] = f.Factors
		}
	}
	return factors
}

// finalHits re-ranks the candidates (their brands and categories from
// groups, read with the retrieval) and reads the products of the k it
// keeps and of the history products that explain them: a few products
// instead of the whole pool. A product deleted since its retrieval is
// dropped and the rest re-ranked, finalRerankTries times at most. It
// returns the hits, explained, and the list's brand exposure Gini.
func (s *Service) finalHits(ctx context.Context, rs []ranking.Result, k int, o rerankOpts, groups map[string]catalog.Product, vecs map[string][]float32, why []string) ([]Hit, float64, error) {
	hist := historyCandidates(why, vecs)
	for try := 1; ; try++ {
		top, gini := rerank(slices.Clone(rs), k, o, groups, vecs)
		because := make([][]ranking.Result, len(top))
		ids := resultIDs(top)
		for i, r := range top {
			because[i] = ranking.BecauseOf(vecs[r.ProductID], hist, 2)
			ids = appendNew(ids, resultIDs(because[i]))
		}
		ps, err := s.d.Catalog.GetProducts(ctx, ids)
		if err != nil {
			return nil, 0, err
		}
		gone := map[string]bool{}
		for _, r := range top {
			if _, ok := ps[r.ProductID]; !ok {
				gone[r.ProductID] = true
			}
		}
		if try < finalRerankTries && len(gone) > 0 {
			rs = slices.DeleteFunc(rs, func(r ranking.Result) bool { return gone[r.ProductID] })
			continue
		}
		hits := make([]Hit, 0, len(top))
		for i, r := range top {
			p, ok := ps[r.ProductID]
			if !ok {
				continue
			}
			h := Hit{ID: r.ProductID, Score: r.Score, Product: p, Parts: r.Parts}
			for _, b := range because[i] {
				h.Because = append(h.Because, Because{ID: b.ProductID, Title: ps[b.ProductID].Title, Similarity: b.Score})
			}
			hits = append(hits, h)
		}
		return hits, gini, nil
	}
}

// historyCandidates are the products of the user's recent history (why,
// newest first) that have vectors, for the "because" explanations.
func historyCandidates(why []string, vecs map[string][]float32) []ranking.Candidate {
	var hist []ranking.Candidate
	for _, id := range why {
		if v, ok := vecs[id]; ok {
			hist = append(hist, ranking.Candidate{ProductID: id, Vector: v})
		}
	}
	return hist
}

// historyRead is how many of a user's latest events a recommendation reads
// once for all its uses: folding a new user in, the item-based methods and
// the explanations.
const historyRead = max(foldInEvents, servedHistory, historyForWhy)

// recoUser is what a recommendation reads about its user.
type recoUser struct {
	id      string
	bought  []string
	history []catalog.Event // the latest historyRead events, newest first
	vector  []float32       // the content vector; nil when none
	cf      records.CFModel // the active model, when hasCF
	hasCF   bool
	factors []float32        // trained factors in cf; nil when none
	pop     []records.Scored // the pool's popular products (with a model)
	// stored is the retrieval stored for the user (recommend_shared.go);
	// refresh: this is a background refresh, which stores its retrieval
	// before it returns.
	stored  records.StoredRetrieval
	refresh bool
}

// readUser reads the user's purchases, latest events, vector, the active
// model's version with the user's factors in it (one round trip,
// Events.RecUser), and beside it the popular products (at most once every
// popularTTL). The model row itself comes from the cache, keyed by that
// version.
func (s *Service) readUser(ctx context.Context, uid string, space, pool int) (recoUser, error) {
	u := recoUser{id: uid}
	var st records.RecUser
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		st, err = s.d.Events.RecUser(gctx, uid, space, historyRead)
		return err
	})
	g.Go(func() (err error) {
		u.pop, err = s.popularProducts(gctx, pool/2)
		return err
	})
	if err := g.Wait(); err != nil {
		return u, err
	}
	u.bought, u.history, u.factors, u.stored = st.Purchased, st.Events, st.Factors, st.Retrieval
	if !vecmath.IsZero(st.Vector) {
		u.vector = st.Vector
	}
	if st.CFVersion == 0 { // no model: the content strategy
		return u, nil
	}
	cf, err := s.activeCF(ctx, st.CFVersion)
	if err != nil {
		return u, ignoreNoModel(err)
	}
	u.cf, u.hasCF = cf, true
	if cf.Version != st.CFVersion { // activated in between: its own factors
		u.factors, err = s.d.Factors.UserFactors(ctx, cf.Version, uid)
		return u, ignoreNotFound(err)
	}
	return u, nil
}

// ignoreNoModel treats records.ErrNoCFModel (deactivated in between) as no
// model.
func ignoreNoModel(err error) error {
	if errors.Is(err, records.ErrNoCFModel) {
		return nil
	}
	return err
}

// ignoreNotFound treats records.ErrNotFound as "nothing stored".
func ignoreNotFound(err error) error {
	if errors.Is(err, records.ErrNotFound) {
		return nil
	}
	return err
}

// whyIDs are the products of the events explanations read.
func (u recoUser) whyIDs() []string {
	h := u.history[:min(historyForWhy, len(u.history))]
	ids := make([]string, len(h))
	for i, e := range h {
		ids[i] = e.ProductID
	}
	return ids
}

// appendNew appends to ids those of more it does not hold yet.
func appendNew(ids, more []string) []string {
	seen := make(map[string]bool, len(ids)+len(more))
	for _, id := range ids {
		seen[id] = true
	}
	for _, id := range more {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids
}

// candidates retrieves and scores a pool of candidates: hybrid with a
// trained model, else by the user's vector (the retrieval reused within
// the retrieval TTL for the same vector and purchases); empty for a cold
// user. It also returns the fused vectors of the candidates and of the
// history the explanations read, and the candidates' brands and
// categories as products (Catalog.CandidateFeatures: a product deleted
// before they were read is absent).
func (s *Service) candidates(ctx context.Context, res *RecommendResult, space int, spec fusion.Spec, u recoUser, p Params, pool int) ([]ranking.Result, map[string][]float32, map[string]catalog.Product, error) {
	if u.hasCF {
		res.Strategy, res.CFModel = StrategyHybrid, u.cf.Version
		return s.hybrid(ctx, hybridQuery{u: u, pool: pool, space: space, p: p})
	}
	res.Strategy = StrategyContent
	if u.vector == nil {
		return nil, nil, nil, nil
	}
	r, err := s.contentRetrieval(ctx, u, space, pool)
	if err != nil {
		return nil, nil, nil, err
	}
	ids := nearestIDs(r.nn)
	fs, err := s.d.Catalog.CandidateFeatures(ctx, space, 0, appendNew(slices.Clone(ids), u.whyIDs()))
	if err != nil {
		return nil, nil, nil, err
	}
	vecs, ps := featureMaps(fs)
	cands := make([]ranking.Candidate, 0, len(ids))
	for _, id := range ids {
		cands = append(cands, ranking.Candidate{ProductID: id, Vector: vecs[id]})
	}
	return ranking.ByVector(spec, u.vector, cands, true), vecs, ps, nil
}

// contentRetrieval is the content strategy's retrieval: the pool of
// products nearest the user's vector, reused within the retrieval TTL for
// the same vector and purchases (from this process's cache or the store).
func (s *Service) contentRetrieval(ctx context.Context, u recoUser, space, pool int) (retrieval, error) {
	digest := newDigester().int(int64(space)).int(int64(pool)).strs(u.bought).floats(u.vector).sum()
	return s.cachedRetrieval(ctx, "u"+u.id, digest, sharedOf(u), func(ctx context.Context) (r retrieval, err error) {
		r.nn, err = s.contentLeg(ctx, u, space, pool)
		return r, err
	})
}

// contentQuery is the content leg's search: the pool of products nearest
// the user's vector, at the vector leg's ef_search (search.vector_ef, as
// hybrid search's pool of the same size). The store's default for a pool
// of 30 is ef 240: 14-16 ms a query at a million products against 5-6 ms
// at 80 (EXPLAIN ANALYZE, one client), the larger part of a whole
// recommendation's database time. The pool is re-scored exactly and
// blended, so a cheaper approximate pool costs little.
func (s *Service) contentQuery(space int, v []float32, pool int, bought []string) records.NearestQuery {
	return records.NearestQuery{Space: space, Vector: v, K: pool, Filter: catalog.Filter{Exclude: bought},
		EfSearch: efFor(pool, s.cfg.VectorEf)}
}

// popular answers cold-start users with the most popular products they
// have not bought, from the popular products already read when they are
// enough. It never returns a nil slice.
func (s *Service) popular(ctx context.Context, k int, exclude []string, pop []records.Scored) ([]Hit, error) {
	if len(pop) < k+len(exclude) {
		var err error
		if pop, err = s.d.Events.PopularProducts(ctx, s.now(), k+len(exclude)); err != nil {
			return nil, err
		}
	}
	var rs []ranking.Result
	for _, p := range pop {
		if !slices.Contains(exclude, p.ProductID) && len(rs) < k {
			rs = append(rs, ranking.Result{ProductID: p.ProductID, Score: p.Score, Parts: []ranking.Part{{Name: recommend.SourcePopularity, Score: p.Score}}})
		}
	}
	return s.hydrate(ctx, rs, true)
}
