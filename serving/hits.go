package serving

import (
	"context"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/ranking"
	"github.com/vitrinehq/vitrine/records"
)

// Hit is one ranked product of a result.
type Hit struct {
	ID    string
	Score float64
	// Parts explain the score (per modality, per retrieval list, per blend
	// source); nil when the request did not ask for explanations.
	Parts []ranking.Part
	// Because lists the user's history items that support a
	// recommendation, best first.
	Because []Because
	Product catalog.Product
}

// Because names a history item that supports a recommendation.
type Because struct {
	ID         string
	Title      string
	Similarity float64
}

// IDs returns the hits' product ids in order.
func IDs(hits []Hit) []string {
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = h.ID
	}
	return out
}

// hydrate attaches product details to ranked results, dropping products
// that vanished in between (deleted after retrieval). It never returns a
// nil slice.
func (s *Service) hydrate(ctx context.Context, rs []ranking.Result, explain bool) ([]Hit, error) {
	if len(rs) == 0 {
		return []Hit{}, nil
	}
	ps, err := s.d.Catalog.GetProducts(ctx, resultIDs(rs))
	if err != nil {
		return nil, err
	}
	return hitsOf(rs, ps, explain), nil
}

// hitsOf attaches the products already read to ranked results, dropping
// those missing from ps (deleted). It never returns a nil slice.
func hitsOf(rs []ranking.Result, ps map[string]catalog.Product, explain bool) []Hit {
	out := make([]Hit, 0, len(rs))
	for _, r := range rs {
		p, ok := ps[r.ProductID]
		if !ok {
			continue
		}
		h := Hit{ID: r.ProductID, Score: r.Score, Product: p}
		if explain {
			h.Parts = r.Parts
		}
		out = append(out, h)
	}
	return out
}

func resultIDs(rs []ranking.Result) []string {
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.ProductID
	}
	return ids
}

func nearestIDs(nn []records.Neighbor) []string {
	out := make([]string, len(nn))
	for i, n := range nn {
		out[i] = n.ProductID
	}
	return out
}

// checkK refuses a list length outside [1, records.MaxK].
func checkK(k int) error {
	if k < 1 || k > records.MaxK {
		return fieldError("k", "must be from 1 to %d", records.MaxK)
	}
	return nil
}

// checkUser refuses a user id longer than events allow, before it can
// reach a log.
func checkUser(field, id string) error {
	if len(id) > catalog.MaxIDLength {
		return fieldError(field, "is longer than %d bytes", catalog.MaxIDLength)
	}
	return nil
}

// firstErr returns the first non-nil error.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
