package recs

import (
	"context"
	"fmt"

	"github.com/vitrinehq/vitrine/eval/data"
	"github.com/vitrinehq/vitrine/eval/metrics"
	"github.com/vitrinehq/vitrine/recommend"
)

// Tune runs the search `vitrine train` runs (recommend.Search, NDCG at
// the cut-off K) on the split's training part, ranking for the
// validation part with the training items masked; the test part is never
// read. methods are registry names (Hybrid, Content and Tuned are not
// searched and are skipped). The result's Best settings go to
// WithMethodParams and its Choice to WithChoice for the test figures.
func Tune(ctx context.Context, split data.Split, methods []string, search []recommend.SearchOption, opts ...Option) (recommend.SearchResult, error) {
	c, err := newConfig(append(opts, WithTarget(Valid)))
	if err != nil {
		return recommend.SearchResult{}, err
	}
	var names []string
	for _, m := range methods {
		if m == Hybrid || m == Content || m == Tuned {
			continue
		}
		if _, err := recommend.Defaults(m); err != nil {
			return recommend.SearchResult{}, fmt.Errorf("%w %q", ErrUnknownMethod, m)
		}
		names = append(names, m)
	}
	c.refit = false
	p, err := newProtocol(split, c)
	if err != nil {
		return recommend.SearchResult{}, err
	}
	valid := make([]recommend.ValidUser, len(p.users))
	for n, u := range p.users {
		valid[n] = recommend.ValidUser{User: u.index, Relevant: u.relevant}
	}
	k := c.k
	search = append([]recommend.SearchOption{recommend.WithSearchCutoff(k), recommend.WithSearchWorkers(c.workers),
		recommend.WithSearchSeed(c.params.Seed), recommend.WithBaseParams(recommend.Params{MaxItems: c.params.MaxItems})}, search...)
	return recommend.Search(ctx, p.d, valid, names, func(ranked []int, relevant map[int]bool) float64 {
		return metrics.IndexNDCG(ranked, relevant, k)
	}, search...)
}
