package serving

import (
	"context"
	"errors"
	"fmt"

	"github.com/vitrinehq/vitrine/ranking"
	"github.com/vitrinehq/vitrine/records"
)

// togetherMethod names the "frequently bought together" lists training
// stores among the model's neighbour lists (training.TogetherMethod).
const togetherMethod = "together"

// SourceTogether and SourceTrending name the parts of the together and
// trending surfaces' results.
const (
	SourceTogether = "together"
	SourceTrending = "trending"
)

// TogetherRequest asks what is bought together with a product.
type TogetherRequest struct {
	ProductID string
	K         int    // 0: DefaultK
	UserID    string // picks the A/B variant; "" is anonymous
}

// TogetherResult lists the products bought with one product, best first.
type TogetherResult struct {
	ProductID string
	// CFModel is the trained model whose baskets the lists come from (0:
	// none is trained, and the list is empty).
	CFModel int
	Hits    []Hit
	Assignment
}

// Together returns the products most often in the same order or session
// as the product, by lift (what training stored with the active model):
// empty for a product no basket pairs, or before any training. An unknown
// product is records.ErrNotFound.
func (s *Service) Together(ctx context.Context, req TogetherRequest) (TogetherResult, error) {
	k := req.K
	if k == 0 {
		k = DefaultK
	}
	if err := firstErr(checkK(k), checkUser("user_id", req.UserID)); err != nil {
		return TogetherResult{}, err
	}
	res := TogetherResult{ProductID: req.ProductID, Assignment: s.Params(req.UserID).Assignment, Hits: []Hit{}}
	if _, err := s.d.Catalog.GetProduct(ctx, req.ProductID); err != nil {
		return TogetherResult{}, err
	}
	cf, err := s.currentCF(ctx)
	if errors.Is(err, records.ErrNoCFModel) {
		return res, nil
	}
	if err != nil {
		return TogetherResult{}, err
	}
	res.CFModel = cf.Version
	lists, err := s.d.Neighbours.ItemNeighbours(ctx, cf.Version, togetherMethod, []string{req.ProductID})
	if err != nil {
		return TogetherResult{}, fmt.Errorf("together: %w", err)
	}
	var rs []ranking.Result
	for _, x := range lists[req.ProductID] {
		rs = append(rs, ranking.Result{ProductID: x.ProductID, Score: x.Score, Parts: []ranking.Part{{Name: SourceTogether, Score: x.Score}}})
	}
	hits, err := s.hydrate(ctx, rs, true) // drops products deleted since training
	if err != nil {
		return TogetherResult{}, err
	}
	res.Hits = hits[:min(k, len(hits))]
	return res, nil
}
