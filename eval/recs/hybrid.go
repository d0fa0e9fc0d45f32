package recs

import (
	"context"
	"math"
	"slices"

	"github.com/vitrinehq/vitrine/eval/data"
	"github.com/vitrinehq/vitrine/eval/metrics"
	"github.com/vitrinehq/vitrine/recommend"
)

// hybridCF is the registry method behind the hybrid's collaborative
// source: the method `vitrine train` fits by default.
const hybridCF = "als"

// Tuning bounds: at most maxTuneUsers validation users (spread evenly),
// and below minTuneUsers the configured weights apply, as in training.
const (
	maxTuneUsers = 1000
	minTuneUsers = 50
)

// hybridState is what the hybrid shares across users.
type hybridState struct {
	cf         recommend.Scorer
	popular    []int
	popularity []float64
	pool       int
}

func (p *protocol) newHybrid(ctx context.Context) (*hybridState, float64, error) {
	cf, err := p.model(ctx, hybridCF)
	if err != nil {
		return nil, 0, err
	}
	pop, err := p.model(ctx, "popularity")
	if err != nil {
		return nil, 0, err
	}
	h := &hybridState{cf: cf.s, popularity: make([]float64, p.d.NumItems()), pool: recommend.ServingPool(p.cfg.k)}
	pop.s.ScoreUser(0, h.popularity)
	h.popular = recommend.TopItems(h.popularity, h.pool/2, nil)
	return h, cf.seconds + pop.seconds, nil
}

// sources fills the worker's CF and content scores of user u and returns
// the hybrid's view of them.
func (p *protocol) sources(h *hybridState, w *worker, u int, exclude func(int) bool) recommend.HybridUser {
	if w.cf == nil {
		w.cf = make([]float64, p.d.NumItems())
	}
	h.cf.ScoreUser(u, w.cf)
	hu := recommend.HybridUser{CF: w.cf, Popular: h.popular, Popularity: h.popularity, Exclude: exclude}
	if p.contentScores(w, u) {
		hu.Content = w.content
	}
	return hu
}

// contentScores writes the cosine of user u's profile with every item into
// w.content; false when there are no vectors or the user has no profile.
func (p *protocol) contentScores(w *worker, u int) bool {
	if p.vecs == nil {
		return false
	}
	items, _ := p.d.UserItems(u)
	own := make([][]float32, len(items))
	for j, i := range items {
		own[j] = p.vecs[i]
	}
	prof := recommend.ContentProfile(own)
	if prof == nil {
		return false
	}
	if w.content == nil {
		w.content = make([]float64, p.d.NumItems())
	}
	recommend.ContentScores(prof, p.vecs, w.content)
	return true
}

// hybridScore ranks like the API: the blended candidates in their blended
// order, every other item below them (tied, for AUC).
func (p *protocol) hybridScore(h *hybridState, weights map[string]float64) scoreFunc {
	return func(w *worker, u user) {
		hu := p.sources(h, w, u.index, func(i int) bool { return w.masked[i] })
		for i := range w.scores {
			w.scores[i] = -math.MaxFloat64
		}
		cands, parts := recommend.HybridCandidates(hu, h.pool)
		blended, err := recommend.Blend(parts, weights)
		if err != nil {
			return // parts come out of HybridCandidates with one length
		}
		for n, i := range cands {
			w.scores[i] = blended[n]
		}
	}
}

// tuneHybrid picks the blend weights as `vitrine train` does (the serving
// grid, NDCG@K of the held-out items among the API's candidates) on the
// validation part, training items masked; with fewer than minTuneUsers
// validation users, the configured weights.
func (p *protocol) tuneHybrid(ctx context.Context, h *hybridState) (map[string]float64, string, error) {
	if p.cfg.refit && p.cfg.target == Test {
		// the validation part is in the fitted data: tuning on it would leak
		return p.cfg.blend, "configured (the validation part was refitted on)", nil
	}
	users, _ := p.group(p.split.Valid, nil)
	users = sample(users, maxTuneUsers)
	var cases []recommend.TuneCase
	w := p.newWorker()
	for _, u := range users {
		own, _ := p.d.UserItems(u.index)
		exclude := func(i int) bool { _, found := slices.BinarySearch(own, int32(i)); return found }
		heldOut := make([]int, len(u.relevant))
		for j, i := range u.relevant {
			heldOut[j] = int(i)
		}
		if tc, ok := recommend.HybridTuneCase(p.sources(h, w, u.index, exclude), h.pool, heldOut); ok {
			cases = append(cases, tc)
		}
	}
	if len(cases) < minTuneUsers {
		return p.cfg.blend, "configured", nil
	}
	k := p.cfg.k
	res, err := recommend.TuneWeights(ctx, cases, recommend.ServingGrid(p.vecs != nil), func(ranked []int, relevant map[int]bool) float64 {
		return metrics.IndexNDCG(ranked, relevant, k)
	}, recommend.WithCutoff(k), recommend.WithTuneWorkers(p.cfg.workers))
	if err != nil {
		return nil, "", err
	}
	return res.Weights, "tuned on the validation split", nil
}

// contentScore ranks by content cosine; items without a vector rank last.
func (p *protocol) contentScore() scoreFunc {
	return func(w *worker, u user) {
		if !p.contentScores(w, u.index) {
			for i := range w.scores {
				w.scores[i] = -2
			}
			return
		}
		for i, v := range w.content {
			if math.IsNaN(v) {
				v = -2 // below any cosine
			}
			w.scores[i] = v
		}
	}
}

// Evaluate fits each method on split.Train and ranks the whole catalogue
// for every user of the target part (see the package documentation for
// what is masked). methods are registry names (recommend.Methods), Hybrid
// and Content; figures come back in the order asked.
func Evaluate(ctx context.Context, split data.Split, methods []string, opts ...Option) ([]Result, error) {
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if err := checkMethods(methods, c.vecs != nil, c); err != nil {
		return nil, err
	}
	p, err := newProtocol(split, c)
	if err != nil {
		return nil, err
	}
	out := make([]Result, 0, len(methods))
	for n, name := range methods {
		r, err := p.evaluate(ctx, name)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
		p.release(methods[n+1:])
	}
	return out, nil
}

// evaluate runs one method.
func (p *protocol) evaluate(ctx context.Context, name string) (Result, error) {
	p.cfg.log.Info("evaluating", "method", name, "users", len(p.users), "items", p.d.NumItems())
	switch name {
	case Content:
		return p.run(ctx, name, p.contentScore())
	case Hybrid:
		h, secs, err := p.newHybrid(ctx)
		if err != nil {
			return Result{}, err
		}
		weights, from, err := p.tuneHybrid(ctx, h)
		if err != nil {
			return Result{}, err
		}
		r, err := p.run(ctx, name, p.hybridScore(h, weights))
		r.FitSeconds, r.Weights, r.WeightsFrom = secs, weights, from
		return r, err
	}
	f, err := p.model(ctx, name)
	if err != nil {
		return Result{}, err
	}
	r, err := p.run(ctx, name, func(w *worker, u user) { f.s.ScoreUser(u.index, w.scores) })
	r.FitSeconds = f.seconds
	return r, err
}
