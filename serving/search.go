package serving

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/extractors/encerr"
	"github.com/vitrinehq/vitrine/ranking"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/vecmath"
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
	Lists []ranking.List
	// Total is how many products answer the query and filter: those that
	// match its words, plus those the vector leg found above its
	// similarity floor that match none (counted when every word match is
	// in the candidate pool, so the two sets can be told apart).
	Total int
	// Facets count the same products as Total.
	Facets records.Facets
	Assignment
}

// Search runs hybrid search: a lexical list and a vector list (the text
// model's embeddings), fused as the configuration's Fusion says (by
// default a weighted sum of normalised scores, vector hits below the
// similarity floor left out, products whose title holds every query word
// first), re-ranked by the user's affinity, cut to k. Total and the
// facets count the matches, not the candidate pool.
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
	r, err := s.retrieve(ctx, q, req.Filter, k, !req.SkipFacets)
	if err != nil {
		return SearchResult{}, err
	}
	f := s.cfg.Fusion
	rs := f.fuse(r, lw, vw)
	if req.UserID != "" {
		if err := s.personalize(ctx, req.UserID, rs, f.personalScale()); err != nil {
			return SearchResult{}, err
		}
	}
	f.tier(rs, r.lex.Hits)
	extra := r.unmatched(rs)
	if len(rs) > k {
		rs = rs[:k]
	}
	res := SearchResult{Query: q, Lists: r.lists(lw, vw), Total: r.lex.Total + len(extra), Assignment: p.Assignment}
	if err := s.page(ctx, &res, req, rs, r.lex.Facets, extra); err != nil {
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

// retrieved are hybrid search's two legs.
type retrieved struct {
	lex records.TextMatches
	nn  []records.Neighbor
	// ann is what the index search found (nil when rescored): the
	// vector list a response reports.
	ann []records.Neighbor
	// vector says the vector leg ran (the query has a word the text
	// model knows); rescored, that it scored the lexical candidates
	// instead of searching the index.
	vector, rescored bool
}

// lists are the legs as ranked id lists with their weights: the vector
// list is what the index search found or, when the title matches filled
// the page, the lexical candidates ordered by similarity.
func (r retrieved) lists(lw, vw float64) []ranking.List {
	ids := make([]string, len(r.lex.Hits))
	for i, h := range r.lex.Hits {
		ids[i] = h.ProductID
	}
	out := []ranking.List{{Name: ListLexical, Weight: lw, IDs: ids}}
	if r.vector {
		vec := r.ann
		if r.rescored {
			vec = r.nn
		}
		out = append(out, ranking.List{Name: ListVector, Weight: vw, IDs: nearestIDs(vec)})
	}
	return out
}

// unmatched returns the fused results that match no query word, when the
// lexical list holds every match (otherwise one of them may be a match
// beyond the pool, and none is counted).
func (r retrieved) unmatched(rs []ranking.Result) []string {
	if r.lex.Total > len(r.lex.Hits) {
		return nil
	}
	lex := make(map[string]bool, len(r.lex.Hits))
	for _, h := range r.lex.Hits {
		lex[h.ProductID] = true
	}
	var out []string
	for _, x := range rs {
		if !lex[x.ProductID] {
			out = append(out, x.ProductID)
		}
	}
	return out
}

// retrieve runs the lexical leg and encodes the query, concurrently; then,
// when the query has words the text model knows, the vector leg. When at
// least k lexical matches hold every query word in their title (score
// fusion), those fill the page whatever the vector leg finds (see tier),
// so the vector leg only scores the lexical candidates exactly from their
// stored embeddings instead of searching the HNSW index; otherwise it
// searches the index with a pool of its own.
func (s *Service) retrieve(ctx context.Context, q string, f catalog.Filter, k int, facets bool) (retrieved, error) {
	var r retrieved
	var tv []float32
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		r.lex, err = s.d.Text.SearchText(gctx, records.TextQuery{Text: q, Filter: f, K: max(k, s.cfg.CandidatePool), Facets: facets})
		return err
	})
	g.Go(func() error {
		v, err := s.d.TextEncoder.Encode(gctx, []byte(q))
		if errors.Is(err, encerr.ErrEmptyInput) {
			// No known words (a part number, a brand the vectors do not
			// know): lexical search alone answers.
			return nil
		}
		tv = v
		return err
	})
	if err := g.Wait(); err != nil || tv == nil {
		return r, err
	}
	r.vector = true
	if s.cfg.Fusion.Method == FusionScore && titleMatches(r.lex.Hits) >= k {
		r.rescored = true
		var err error
		r.nn, err = s.rescore(ctx, tv, r.lex.Hits)
		return r, err
	}
	// Both: the index finds similar products that match no word, and every
	// lexical candidate gets its exact similarity (one outside the
	// index's pool would otherwise get no vector part at all).
	var exact []records.Neighbor
	g, gctx = errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		pool := max(k, s.cfg.VectorPool)
		r.nn, err = s.d.Vectors.Nearest(gctx, records.NearestQuery{Model: s.d.TextEncoder.Key(), Vector: tv, K: pool, Filter: f,
			EfSearch: efFor(pool, s.cfg.VectorEf)})
		return err
	})
	g.Go(func() (err error) {
		exact, err = s.rescore(gctx, tv, r.lex.Hits)
		return err
	})
	err := g.Wait()
	r.ann = r.nn
	r.nn = mergeNeighbors(r.nn, exact)
	return r, err
}

// mergeNeighbors is the union of two neighbour lists, nearest first.
func mergeNeighbors(a, b []records.Neighbor) []records.Neighbor {
	seen := make(map[string]bool, len(a)+len(b))
	out := make([]records.Neighbor, 0, len(a)+len(b))
	for _, n := range slices.Concat(a, b) {
		if !seen[n.ProductID] {
			seen[n.ProductID] = true
			out = append(out, n)
		}
	}
	slices.SortStableFunc(out, func(x, y records.Neighbor) int { return cmp.Compare(x.Distance, y.Distance) })
	return out
}

// titleMatches counts the hits whose title holds every query word.
func titleMatches(hits []records.TextHit) int {
	n := 0
	for _, h := range hits {
		if h.InTitle {
			n++
		}
	}
	return n
}

// rescore is the vector leg over the lexical candidates alone: each one's
// stored text embedding against the query's, nearest first.
func (s *Service) rescore(ctx context.Context, tv []float32, hits []records.TextHit) ([]records.Neighbor, error) {
	if len(hits) == 0 {
		return nil, nil
	}
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i] = h.ProductID
	}
	vs, err := s.d.Vectors.ModelVectors(ctx, s.d.TextEncoder.Key(), ids)
	if err != nil {
		return nil, err
	}
	out := make([]records.Neighbor, 0, len(vs))
	for _, id := range ids {
		v, ok := vs[id]
		if !ok {
			continue
		}
		c, err := vecmath.Cosine(tv, v)
		if err != nil {
			return nil, fmt.Errorf("rescore %s: %w", id, err)
		}
		out = append(out, records.Neighbor{ProductID: id, Distance: 1 - c})
	}
	slices.SortStableFunc(out, func(a, b records.Neighbor) int { return cmp.Compare(a.Distance, b.Distance) })
	return out, nil
}

// efFor is the ef_search for a vector list of pool products: the
// configured one, raised to the pool (HNSW returns at most ef_search rows
// before it scans on), or 0 for the store's default.
func efFor(pool, ef int) int {
	if ef == 0 {
		return 0
	}
	return max(ef, pool)
}

// page hydrates the results and, concurrently, counts the facets of the
// results that match no query word (the matches' own come with the
// lexical leg) and logs the query (a lost log line does not fail the
// search).
func (s *Service) page(ctx context.Context, res *SearchResult, req SearchRequest, rs []ranking.Result, matched records.Facets, extra []string) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		res.Hits, err = s.hydrate(gctx, rs, true)
		return err
	})
	if !req.SkipFacets {
		res.Facets = matched
		g.Go(func() error {
			if len(extra) == 0 {
				return nil
			}
			f, err := s.d.Text.Facets(gctx, extra)
			addFacets(&res.Facets, f)
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

// addFacets adds b's counts to a's (whose maps it makes when nil).
func addFacets(a *records.Facets, b records.Facets) {
	for _, m := range []struct {
		dst *map[string]int
		src map[string]int
	}{
		{&a.Category, b.Category}, {&a.Brand, b.Brand}, {&a.Price, b.Price}} {
		if *m.dst == nil {
			*m.dst = map[string]int{}
		}
		for k, n := range m.src {
			(*m.dst)[k] += n
		}
	}
}

// personalize re-ranks by the user's affinity when the user has a vector;
// scale brings the affinity (a cosine) to the range of the fused scores.
func (s *Service) personalize(ctx context.Context, userID string, rs []ranking.Result, scale float64) error {
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
	ranking.Personalize(rs, uv.Vector, vecs, s.cfg.PersonalWeight*scale)
	return nil
}

// Fusion methods of hybrid search.
const (
	// FusionScore sums the legs' normalised scores, weighted: a lexical
	// score over the best lexical score, a vector similarity above the
	// floor over the best one's.
	FusionScore = "score"
	// FusionRRF is weighted reciprocal rank fusion (ranks only).
	FusionRRF = "rrf"
)

// SearchFusion says how hybrid search fuses its two legs.
type SearchFusion struct {
	// Method is FusionScore or FusionRRF.
	Method string
	// VectorFloor is the cosine similarity a vector hit that matches no
	// query word needs to be kept (FusionScore): below it a product is
	// noise, however few the matches.
	VectorFloor float64
}

// DefaultFusion is score fusion with the floor tuned on the grocery
// development queries (`vitrine eval search --grocery`, with the lexical
// index matching any word and DefaultConfig's weights 3 and 1): hybrid
// nDCG@10 0.949 at floor 0.4 and 0.942 at 0.5; RRF gave 0.873.
func DefaultFusion() SearchFusion {
	return SearchFusion{Method: FusionScore, VectorFloor: DefaultVectorFloor}
}

// DefaultVectorFloor is the similarity floor of DefaultFusion.
const DefaultVectorFloor = 0.4

// ErrFusion is returned by SearchFusion.Check for an unknown method or a floor
// outside [-1, 1].
var ErrFusion = errors.New("serving: invalid search fusion")

// Check refuses an unknown method or a floor outside [-1, 1].
func (f SearchFusion) Check() error {
	if (f.Method != FusionScore && f.Method != FusionRRF) || !(f.VectorFloor >= -1 && f.VectorFloor <= 1) {
		return fmt.Errorf("%w: method %q (want %s or %s), vector floor %g", ErrFusion, f.Method, FusionScore, FusionRRF, f.VectorFloor)
	}
	return nil
}

// fuse merges the legs into one list, best first.
func (f SearchFusion) fuse(r retrieved, lw, vw float64) []ranking.Result {
	if f.Method == FusionRRF {
		return ranking.RRF(r.lists(lw, vw), ranking.RRFK)
	}
	if sum := lw + vw; sum > 0 {
		lw, vw = lw/sum, vw/sum
	}
	idx := map[string]int{}
	var out []ranking.Result
	lexMax := 0.0
	for _, h := range r.lex.Hits {
		lexMax = max(lexMax, h.Score)
	}
	for _, h := range r.lex.Hits {
		sc := 0.0
		if lexMax > 0 {
			sc = lw * h.Score / lexMax
		}
		idx[h.ProductID] = len(out)
		out = append(out, ranking.Result{ProductID: h.ProductID, Score: sc, Parts: []ranking.Part{{Name: ListLexical, Score: sc}}})
	}
	vecMax := f.VectorFloor
	for _, n := range r.nn {
		vecMax = max(vecMax, 1-n.Distance)
	}
	for _, n := range r.nn {
		sim := 1 - n.Distance
		i, matched := idx[n.ProductID]
		if sim < f.VectorFloor || vecMax <= f.VectorFloor {
			if !matched {
				continue // noise: neither a word match nor similar enough
			}
			sim = f.VectorFloor
		}
		sc := 0.0
		if vecMax > f.VectorFloor {
			sc = vw * (sim - f.VectorFloor) / (vecMax - f.VectorFloor)
		}
		if !matched {
			i = len(out)
			out = append(out, ranking.Result{ProductID: n.ProductID})
		}
		out[i].Score += sc
		out[i].Parts = append(out[i].Parts, ranking.Part{Name: ListVector, Score: sc})
	}
	ranking.Sort(out)
	return out
}

// personalScale brings a user's affinity (a cosine scaled by the
// configured weight) to the range of the fused scores: RRF scores are
// about 1/60, normalised ones up to 1.
func (f SearchFusion) personalScale() float64 {
	if f.Method == FusionRRF {
		return 1.0 / ranking.RRFK
	}
	return 1
}

// tier puts the products whose title holds every query word first
// (score fusion), keeping the order within each tier: a product matching
// the query in its title never ranks below one matching no word.
func (f SearchFusion) tier(rs []ranking.Result, lex []records.TextHit) {
	if f.Method == FusionRRF {
		return
	}
	top := map[string]bool{}
	for _, h := range lex {
		if h.InTitle {
			top[h.ProductID] = true
		}
	}
	if len(top) == 0 {
		return
	}
	slices.SortStableFunc(rs, func(a, b ranking.Result) int {
		switch ta, tb := top[a.ProductID], top[b.ProductID]; {
		case ta == tb:
			return 0
		case ta:
			return -1
		}
		return 1
	})
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
