package serving

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/extractors/encerr"
	"github.com/vitrinehq/vitrine/fusion"
	"github.com/vitrinehq/vitrine/ranking"
	"github.com/vitrinehq/vitrine/records"
)

// RankRequest ranks products for exactly one of a user id, a user vector
// (in the active space) or a text query.
type RankRequest struct {
	UserID     string
	UserVector []float32
	Query      string
	// CandidateIDs are the products to rank; nil retrieves the K nearest
	// (within Filter) instead.
	CandidateIDs []string
	Filter       catalog.Filter
	K            int // 0: DefaultK
	// Explain adds the per-modality parts of each score.
	Explain bool
}

// RankResult is a ranked list in the active space.
type RankResult struct {
	Space int // the vector space version that ranked
	Hits  []Hit
	// Missing lists the candidate ids with no vector (unknown or not yet
	// indexed).
	Missing []string
	Assignment
}

// Rank scores candidates (given, or retrieved by nearest-neighbour search)
// by cosine with the user's or the query's vector in the fused space.
// A user without a vector is ErrNoUserVector.
func (s *Service) Rank(ctx context.Context, req RankRequest) (RankResult, error) {
	k, err := checkRank(req)
	if err != nil {
		return RankResult{}, err
	}
	p := s.Params(req.UserID)
	sp, spec, err := s.ActiveSpace(ctx)
	if err != nil {
		return RankResult{}, err
	}
	q, err := s.rankVector(ctx, req, sp, spec)
	if err != nil {
		return RankResult{}, err
	}
	res := RankResult{Space: sp.Version, Assignment: p.Assignment}
	ids := req.CandidateIDs
	if ids == nil {
		nn, err := s.d.Vectors.Nearest(ctx, records.NearestQuery{Space: sp.Version, Vector: q, K: k, Filter: req.Filter})
		if err != nil {
			return RankResult{}, err
		}
		ids = nearestIDs(nn)
	}
	vecs, err := s.d.Vectors.ProductVectors(ctx, sp.Version, ids)
	if err != nil {
		return RankResult{}, err
	}
	cands := make([]ranking.Candidate, 0, len(ids))
	for _, id := range ids {
		if v, ok := vecs[id]; ok {
			cands = append(cands, ranking.Candidate{ProductID: id, Vector: v})
		} else {
			res.Missing = append(res.Missing, id)
		}
	}
	rs := ranking.ByVector(spec, q, cands, req.Explain)
	if len(rs) > k {
		rs = rs[:k]
	}
	if res.Hits, err = s.hydrate(ctx, rs, req.Explain); err != nil {
		return RankResult{}, err
	}
	return res, nil
}

func checkRank(req RankRequest) (int, error) {
	given := 0
	for _, b := range []bool{req.UserID != "", req.UserVector != nil, strings.TrimSpace(req.Query) != ""} {
		if b {
			given++
		}
	}
	if given != 1 {
		return 0, fieldError("user_id", "give exactly one of user_id, user_vector or query")
	}
	k := req.K
	if k == 0 {
		k = DefaultK
	}
	if err := checkK(k); err != nil {
		return 0, err
	}
	if len(req.CandidateIDs) > MaxCandidates {
		return 0, fieldError("candidate_ids", "at most %d", MaxCandidates)
	}
	if err := checkFilter(req.Filter, "filter"); err != nil {
		return 0, err
	}
	if len(req.Query) > MaxQueryLength {
		return 0, fieldError("query", "longer than %d bytes", MaxQueryLength)
	}
	return k, checkUser("user_id", req.UserID)
}

// rankVector is the fused-space vector a rank request ranks by.
func (s *Service) rankVector(ctx context.Context, req RankRequest, sp records.Space, spec fusion.Spec) ([]float32, error) {
	switch {
	case req.UserVector != nil:
		if len(req.UserVector) != sp.Dim {
			return nil, fieldError("user_vector", "has %d dimensions, the active space (version %d) has %d", len(req.UserVector), sp.Version, sp.Dim)
		}
		return req.UserVector, nil
	case req.UserID != "":
		uv, err := s.d.Users.GetUserVector(ctx, req.UserID, sp.Version)
		if errors.Is(err, records.ErrNotFound) {
			return nil, fmt.Errorf("%w: user %q has no events in vector space %d", ErrNoUserVector, req.UserID, sp.Version)
		}
		return uv.Vector, err
	}
	return s.QueryVector(ctx, spec, req.Query)
}

// QueryVector encodes a text query into the fused space (its text block).
// A query with no word the model knows is a FieldError on "query".
func (s *Service) QueryVector(ctx context.Context, spec fusion.Spec, q string) ([]float32, error) {
	v, err := s.d.TextEncoder.Encode(ctx, []byte(q))
	if errors.Is(err, catalog.ErrInvalid) || errors.Is(err, encerr.ErrEmptyInput) {
		return nil, fieldError("query", "has no known words")
	}
	if err != nil {
		return nil, err
	}
	fq, err := spec.Query(map[string][]float32{s.d.TextEncoder.Key(): v})
	if err != nil {
		return nil, fieldError("query", "the active vector space has no text model")
	}
	return fq, nil
}
