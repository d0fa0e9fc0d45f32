package serving

import (
	"context"
	"encoding/json"
	"maps"
	"math"
	"slices"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/ranking"
	"github.com/vitrinehq/vitrine/recommend"
	"github.com/vitrinehq/vitrine/records"
)

// servedHistory is how many of a user's latest events the item-based
// methods read when serving (training reads all of them; the weights of
// events this old are negligible under a recency half-life).
const servedHistory = 100

// servedComponent is one component of what training chose to serve, as
// stored in the model row's params ("serve").
type servedComponent struct {
	Method    string              `json:"method"`
	Weight    float64             `json:"weight"`
	Weighting recommend.Weighting `json:"weighting"`
}

// servedChoice reads the model's served components; nil when the model
// serves its factors only (no item-based component, or an older model).
func servedChoice(cf records.CFModel) []servedComponent {
	raw, ok := cf.Params["serve"]
	if !ok {
		return nil
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return nil
	}
	var cs []servedComponent
	if json.Unmarshal(b, &cs) != nil {
		return nil
	}
	for _, c := range cs {
		if recommend.IsNeighbourMethod(c.Method) {
			return cs
		}
	}
	return nil
}

// chosenScores are the item-based components' scores of a user: each
// component's score of every product its lists reach from the user's
// latest events (history, newest first), as the fitted method scores
// (recommend.NeighbourScores). The components' lists are read
// concurrently.
func (s *Service) chosenScores(ctx context.Context, cf records.CFModel, cs []servedComponent, history []catalog.Event) (map[string]map[string]float64, error) {
	evs := history[:min(servedHistory, len(history))]
	if len(evs) == 0 {
		return nil, nil
	}
	hist := make([]recommend.HistoryEvent, len(evs))
	var ids []string
	for n, e := range evs {
		hist[n] = recommend.HistoryEvent{Item: e.ProductID, Value: ranking.EventWeight(e.Type, e.Value)}
		if !slices.Contains(ids, e.ProductID) {
			ids = append(ids, e.ProductID)
		}
	}
	var mu sync.Mutex
	out := map[string]map[string]float64{}
	g, gctx := errgroup.WithContext(ctx)
	for _, c := range cs {
		if !recommend.IsNeighbourMethod(c.Method) {
			continue
		}
		g.Go(func() error {
			stored, err := s.d.Neighbours.ItemNeighbours(gctx, cf.Version, c.Method, ids)
			if err != nil {
				return err
			}
			lists := make(map[string]recommend.NeighbourList, len(stored))
			for id, ns := range stored {
				l := recommend.NeighbourList{Items: make([]string, len(ns)), Scores: make([]float64, len(ns))}
				for k, x := range ns {
					l.Items[k], l.Scores[k] = x.ProductID, x.Score
				}
				lists[id] = l
			}
			scores := recommend.NeighbourScores(hist, c.Weighting, lists)
			mu.Lock()
			out[c.Method] = scores
			mu.Unlock()
			return nil
		})
	}
	return out, g.Wait()
}

// chosenCandidates are the best pool products of every item-based
// component, best first per component.
func chosenCandidates(scores map[string]map[string]float64, pool int) []string {
	var out []string
	for _, name := range slices.Sorted(maps.Keys(scores)) {
		top, _ := recommend.TopScores(scores[name], pool)
		for _, id := range top {
			if !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
	}
	return out
}

// chosenPart is the collaborative part of the candidates under the served
// choice: each component's raw scores (item-based: 0 where its lists do
// not reach; the factor method: the inner product, NaN without factors)
// blended with the chosen weights by recommend.Blend, as the evaluation's
// ensemble blends them; a single component's raw scores as they are.
func chosenPart(cs []servedComponent, cf records.CFModel, scores map[string]map[string]float64, factorPart []float64, cands []string) ([]float64, error) {
	parts := map[string][]float64{}
	weights := map[string]float64{}
	for _, c := range cs {
		switch {
		case recommend.IsNeighbourMethod(c.Method):
			p := make([]float64, len(cands))
			for i, id := range cands {
				p[i] = scores[c.Method][id]
			}
			parts[c.Method] = p
		case c.Method == cf.Method:
			parts[c.Method] = factorPart
		default:
			continue
		}
		weights[c.Method] = c.Weight
	}
	if len(parts) == 1 {
		for _, p := range parts {
			return p, nil
		}
	}
	out, err := recommend.Blend(parts, weights)
	if err != nil {
		return nil, err
	}
	for i := range out {
		if math.IsNaN(out[i]) {
			out[i] = 0
		}
	}
	return out, nil
}
