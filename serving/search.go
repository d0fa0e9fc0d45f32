package serving

import (
	"context"
	"errors"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/extractors/encerr"
	"github.com/vitrinehq/vitrine/ranking"
	"github.com/vitrinehq/vitrine/records"
)

// Names of the retrieval lists of hybrid search, as result parts name them.
const (
	ListLexical = "lexical"
	ListVector  = "vector"
)

// SearchRequest is one hybrid text search.
type SearchRequest struct {
	Query  string
	K      int // 0: DefaultK
	Filter catalog.Filter
	// UserID personalises the order by the user's vector (when they have
	// one) and picks their A/B variant; "" is anonymous.
	UserID string
	// LexicalWeight and VectorWeight override the variant's (and the
	// configuration's) fusion weights; nil keeps them. A weight of 0 keeps
	// the list's products but gives them no score from it.
	LexicalWeight, VectorWeight *float64
	// SkipFacets and SkipQueryLog leave out the facet counts and the query
	// log line (offline evaluation wants neither).
	SkipFacets, SkipQueryLog bool
}

// SearchResult is hybrid search's answer.
type SearchResult struct {
	Query string // the query as searched (trimmed)
	// Hits are the fused (and personalised) results, best first, with
	// their per-list parts.
	Hits []Hit
	// Lists are the retrieval lists that were fused, each with its weight
	// and its product ids best first (up to the candidate pool): lexical,
	// then vector unless the query has no word the text model knows.
	Lists  []ranking.List
	Facets records.Facets
	Assignment
}

// Search runs hybrid search: a lexical list and a vector list (the text
// model's embeddings), fused by weighted reciprocal rank, re-ranked by the
// user's affinity, cut to k; the facets count the whole fused pool.
func (s *Service) Search(ctx context.Context, req SearchRequest) (SearchResult, error) {
	q := strings.TrimSpace(req.Query)
	k, p, err := s.checkSearch(&req, q)
	if err != nil {
		return SearchResult{}, err
	}
	lw, vw := p.LexicalWeight, p.VectorWeight
	if req.LexicalWeight != nil {
		lw = *req.LexicalWeight
	}
	if req.VectorWeight != nil {
		vw = *req.VectorWeight
	}
	lists, err := s.retrieve(ctx, q, req.Filter, max(k, s.cfg.CandidatePool), lw, vw)
	if err != nil {
		return SearchResult{}, err
	}
	rs := ranking.RRF(lists, ranking.RRFK)
	if req.UserID != "" {
		if err := s.personalize(ctx, req.UserID, rs); err != nil {
			return SearchResult{}, err
		}
	}
	pool := resultIDs(rs)
	if len(rs) > k {
		rs = rs[:k]
	}
	res := SearchResult{Query: q, Lists: lists, Assignment: p.Assignment}
	if err := s.page(ctx, &res, req, rs, pool); err != nil {
		return SearchResult{}, err
	}
	return res, nil
}

func (s *Service) checkSearch(req *SearchRequest, q string) (int, Params, error) {
	k := req.K
	if k == 0 {
		k = DefaultK
	}
	switch {
	case q == "":
		return 0, Params{}, fieldError("query", "is required")
	case len(q) > MaxQueryLength:
		return 0, Params{}, fieldError("query", "longer than %d bytes", MaxQueryLength)
	}
	if err := firstErr(checkK(k), checkUser("user_id", req.UserID), checkFilter(req.Filter, "filter"),
		checkWeight("lexical_weight", req.LexicalWeight), checkWeight("vector_weight", req.VectorWeight)); err != nil {
		return 0, Params{}, err
	}
	return k, s.Params(req.UserID), nil
}

func checkWeight(field string, w *float64) error {
	if w != nil && !(*w >= 0) {
		return fieldError(field, "must be a non-negative number")
	}
	return nil
}

// checkFilter refuses a negative or inverted price range.
func checkFilter(f catalog.Filter, field string) error {
	if f.MinPrice != nil && *f.MinPrice < 0 {
		return fieldError(field+".min_price", "must not be negative")
	}
	if f.MinPrice != nil && f.MaxPrice != nil && *f.MinPrice > *f.MaxPrice {
		return fieldError(field+".min_price", "is greater than max_price")
	}
	return nil
}

// retrieve fetches the lexical list and, when the query has words the
// text model knows, the vector list.
func (s *Service) retrieve(ctx context.Context, q string, f catalog.Filter, pool int, lw, vw float64) ([]ranking.List, error) {
	lex, err := s.d.Text.LexicalSearch(ctx, q, f, pool)
	if err != nil {
		return nil, err
	}
	lists := []ranking.List{{Name: ListLexical, Weight: lw, IDs: scoredIDs(lex)}}
	tv, err := s.d.TextEncoder.Encode(ctx, []byte(q))
	switch {
	case err == nil:
		nn, err := s.d.Vectors.Nearest(ctx, records.NearestQuery{Model: s.d.TextEncoder.Key(), Vector: tv, K: pool, Filter: f})
		if err != nil {
			return nil, err
		}
		lists = append(lists, ranking.List{Name: ListVector, Weight: vw, IDs: nearestIDs(nn)})
	case errors.Is(err, encerr.ErrEmptyInput):
		// No known words (a part number, a brand the vectors do not know):
		// lexical search alone answers.
	default:
		return nil, err
	}
	return lists, nil
}

// page hydrates the results and, concurrently, counts the facets of the
// pool and logs the query (a lost log line does not fail the search).
func (s *Service) page(ctx context.Context, res *SearchResult, req SearchRequest, rs []ranking.Result, pool []string) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		res.Hits, err = s.hydrate(gctx, rs, true)
		return err
	})
	if !req.SkipFacets {
		g.Go(func() (err error) {
			res.Facets, err = s.d.Text.Facets(gctx, pool)
			return err
		})
	}
	if !req.SkipQueryLog {
		g.Go(func() error {
			if err := s.d.Text.LogQuery(gctx, req.UserID, res.Query); err != nil && gctx.Err() == nil {
				s.log.Warn("query log", "err", err)
			}
			return nil
		})
	}
	return g.Wait()
}

// personalize re-ranks by the user's affinity when the user has a vector.
func (s *Service) personalize(ctx context.Context, userID string, rs []ranking.Result) error {
	sp, _, err := s.ActiveSpace(ctx)
	if err != nil {
		return err
	}
	uv, err := s.d.Users.GetUserVector(ctx, userID, sp.Version)
	if errors.Is(err, records.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	vecs, err := s.d.Vectors.ProductVectors(ctx, sp.Version, resultIDs(rs))
	if err != nil {
		return err
	}
	// RRF scores are about 1/60; scale the affinity to that range.
	ranking.Personalize(rs, uv.Vector, vecs, s.cfg.PersonalWeight/ranking.RRFK)
	return nil
}

func scoredIDs(xs []records.Scored) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = x.ProductID
	}
	return out
}

// SuggestRequest asks for search-as-you-type completions.
type SuggestRequest struct {
	Prefix string
	K      int // 0: 8
	// UserID boosts the categories the user interacts with most.
	UserID string
}

// MaxSuggestPrefix bounds a suggestion prefix, in bytes.
const MaxSuggestPrefix = 100

// Suggest completes a prefix (typo tolerant) from titles, brands,
// categories and logged queries. It never returns a nil slice.
func (s *Service) Suggest(ctx context.Context, req SuggestRequest) ([]records.Suggestion, error) {
	q := strings.TrimSpace(req.Prefix)
	k := req.K
	if k == 0 {
		k = 8
	}
	switch {
	case q == "":
		return nil, fieldError("query", "is required")
	case len(q) > MaxSuggestPrefix:
		return nil, fieldError("query", "longer than %d bytes", MaxSuggestPrefix)
	case k < 1 || k > 50:
		return nil, fieldError("k", "must be from 1 to 50")
	}
	var boost []string
	if req.UserID != "" {
		var err error
		if boost, err = s.d.Events.UserCategories(ctx, req.UserID, 3); err != nil {
			return nil, err
		}
	}
	sug, err := s.d.Text.Suggest(ctx, q, k, boost)
	if sug == nil && err == nil {
		sug = []records.Suggestion{}
	}
	return sug, err
}

// ImageSearchRequest is one search by photo.
type ImageSearchRequest struct {
	Image  []byte // the photo's file bytes
	K      int    // 0: DefaultK
	Filter catalog.Filter
	UserID string // picks the A/B variant; "" is anonymous
}

// ImageSearchResult lists the products whose photos look most alike.
type ImageSearchResult struct {
	Hits []Hit // with an "image" part: the cosine similarity
	Assignment
}

// SearchImage finds the products whose images are nearest the photo in
// the image model's embeddings. ErrNoImageModel without an image model.
func (s *Service) SearchImage(ctx context.Context, req ImageSearchRequest) (ImageSearchResult, error) {
	if s.d.ImageEncoder == nil {
		return ImageSearchResult{}, ErrNoImageModel
	}
	k := req.K
	if k == 0 {
		k = DefaultK
	}
	if err := firstErr(checkK(k), checkUser("user_id", req.UserID), checkFilter(req.Filter, "filter")); err != nil {
		return ImageSearchResult{}, err
	}
	p := s.Params(req.UserID)
	v, err := s.d.ImageEncoder.Encode(ctx, req.Image)
	if err != nil {
		return ImageSearchResult{}, err
	}
	nn, err := s.d.Vectors.Nearest(ctx, records.NearestQuery{Model: s.d.ImageEncoder.Key(), Vector: v, K: k, Filter: req.Filter})
	if err != nil {
		return ImageSearchResult{}, err
	}
	rs := make([]ranking.Result, len(nn))
	for i, n := range nn {
		rs[i] = ranking.Result{ProductID: n.ProductID, Score: 1 - n.Distance, Parts: []ranking.Part{{Name: "image", Score: 1 - n.Distance}}}
	}
	hits, err := s.hydrate(ctx, rs, true)
	if err != nil {
		return ImageSearchResult{}, err
	}
	return ImageSearchResult{Hits: hits, Assignment: p.Assignment}, nil
}
