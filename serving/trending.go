package serving

import (
	"context"
	"time"

	"github.com/vitrinehq/vitrine/ranking"
)

// The trending surface's windows: events of the last day, against the
// product's rate over the week before.
const (
	trendingRecent   = 24 * time.Hour
	trendingBaseline = 8 * 24 * time.Hour
)

// TrendingRequest asks for the products picking up now.
type TrendingRequest struct {
	K      int    // 0: DefaultK
	UserID string // picks the A/B variant and leaves out what they bought; "" is anonymous
}

// TrendingResult lists trending products, fastest rising first.
type TrendingResult struct {
	Hits []Hit
	Assignment
}

// Trending returns the products whose popularity rises fastest: their
// events of the last day, decayed, over what their rate in the week
// before predicts (store.TrendingProducts). A user's purchases are left
// out.
func (s *Service) Trending(ctx context.Context, req TrendingRequest) (TrendingResult, error) {
	k := req.K
	if k == 0 {
		k = DefaultK
	}
	if err := firstErr(checkK(k), checkUser("user_id", req.UserID)); err != nil {
		return TrendingResult{}, err
	}
	var bought []string
	if req.UserID != "" {
		var err error
		if bought, err = s.d.Events.Purchased(ctx, req.UserID); err != nil {
			return TrendingResult{}, err
		}
	}
	top, err := s.d.Trending.TrendingProducts(ctx, s.now(), trendingRecent, trendingBaseline, k, bought)
	if err != nil {
		return TrendingResult{}, err
	}
	rs := make([]ranking.Result, len(top))
	for n, x := range top {
		rs[n] = ranking.Result{ProductID: x.ProductID, Score: x.Score, Parts: []ranking.Part{{Name: SourceTrending, Score: x.Score}}}
	}
	hits, err := s.hydrate(ctx, rs, true)
	if err != nil {
		return TrendingResult{}, err
	}
	if hits == nil {
		hits = []Hit{}
	}
	return TrendingResult{Hits: hits, Assignment: s.Params(req.UserID).Assignment}, nil
}
