package recommend

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/vitrinehq/vitrine/ranking"
)

// searchSpace is each method's log grid: every combination is a point.
// Zero values are never listed (a zero field means "the default").
func searchSpace(name string) map[string][]float64 {
	switch name {
	case "als":
		return map[string][]float64{"factors": {32, 64, 128}, "reg": {0.01, 0.1, 1, 10, 100}, "alpha": {0.25, 1, 4, 16}}
	case "bpr":
		return map[string][]float64{"factors": {32, 64, 128}, "reg": {0.001, 0.01, 0.05}, "iterations": {15, 30, 60}}
	case "itemknn":
		return map[string][]float64{"neighbours": {10, 25, 50, 100, 200, 400}, "shrink": {0.1, 1, 10, 100}}
	case "itemknn-recency":
		return map[string][]float64{"neighbours": {25, 100, 400}, "shrink": {1, 10, 100}, "recency": {1, 2, 4, 8, 16, 64}}
	case "ease":
		return map[string][]float64{"reg": {10, 50, 100, 250, 500, 1000, 2500, 5000}}
	case "rp3beta":
		return map[string][]float64{"alpha": {0.5, 0.75, 1, 1.25}, "beta": {0.1, 0.2, 0.3, 0.45, 0.6, 0.8}, "neighbours": {50, 200}}
	case "transitions":
		return map[string][]float64{"window": {1, 2, 3, 5}, "recency": {0.5, 1, 2, 4, 8}, "neighbours": {50, 200}}
	case "sknn":
		return map[string][]float64{"neighbours": {25, 50, 100, 250, 500}, "window": {2, 5, 10, 25}, "recency": {1, 2, 4, 16}}
	}
	return nil
}

// fields are p's hyper-parameters by name, in a fixed order.
func (p Params) fields() []struct {
	name string
	v    float64
} {
	return []struct {
		name string
		v    float64
	}{{"factors", float64(p.Factors)}, {"iterations", float64(p.Iterations)}, {"reg", p.Reg}, {"alpha", p.Alpha},
		{"neighbours", float64(p.Neighbours)}, {"shrink", p.Shrink}, {"beta", p.Beta}, {"recency", p.Recency},
		{"window", float64(p.Window)}, {"max_items", float64(p.MaxItems)}}
}

// Describe names the hyper-parameters the method reads (those its
// defaults set) with p's values: "reg=250 max_items=4000".
func Describe(method string, p Params) string {
	d, err := Defaults(method)
	if err != nil {
		return ""
	}
	var out []string
	pf := p.fields()
	for n, f := range d.fields() {
		if f.v != 0 {
			out = append(out, fmt.Sprintf("%s=%g", f.name, pf[n].v))
		}
	}
	return strings.Join(out, " ")
}

// set writes one searched hyper-parameter into p.
func (p *Params) set(field string, v float64) {
	switch field {
	case "factors":
		p.Factors = int(v)
	case "iterations":
		p.Iterations = int(v)
	case "reg":
		p.Reg = v
	case "alpha":
		p.Alpha = v
	case "neighbours":
		p.Neighbours = int(v)
	case "shrink":
		p.Shrink = v
	case "beta":
		p.Beta = v
	case "recency":
		p.Recency = v
	case "window":
		p.Window = int(v)
	}
}

// SearchGrid is the points Search tries for a method: its defaults (with
// base's non-zero fields) first, then every point of its log grid, each
// resolved against the defaults. Popularity has only its defaults.
func SearchGrid(name string, base Params) ([]Params, error) {
	first, err := Resolve(name, base)
	if err != nil {
		return nil, err
	}
	out := []Params{first}
	space := searchSpace(name)
	fields := slices.Sorted(maps.Keys(space))
	points := []Params{base}
	for _, f := range fields {
		var next []Params
		for _, p := range points {
			for _, v := range space[f] {
				q := p
				q.set(f, v)
				next = append(next, q)
			}
		}
		points = next
	}
	if len(fields) == 0 {
		return out, nil
	}
	for _, p := range points {
		if p, _ = Resolve(name, p); p != first {
			out = append(out, p)
		}
	}
	return out, nil
}

// blendWeights are the weights each blended method but the best may
// take, the best weighing 1 (only ratios matter under z-normalisation);
// zero keeps a method out, so the best alone is one of the points.
var blendWeights = []float64{0, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1, 1.5}

// blendUsers is the default bound on the validation users the blend
// weights are tuned on (WithBlendUsers). It is training's sample of users
// (maxSearchUsers there), so in practice the blend is tuned on every
// validation user: a sample of 2,000 chose weights that scored below the
// ones chosen on all 6,000 users of a sequential file, on those 6,000. The
// cost is that of the former check on every user: each user's candidates
// scored once by every blended method, then a weighted sum and a top-k per
// user and weight point.
const blendUsers = 20_000

// blendPasses bounds the coordinate search's passes over the methods.
const blendPasses = 2

// Blendable reports whether a method can be a component of a chosen
// blend: the API serves item-based methods from their stored neighbour
// lists and one factor method from its stored factors, but neither
// session kNN nor popularity as a component, so a blend of those would be
// evaluated and not served.
func Blendable(name string) bool { return IsNeighbourMethod(name) || IsFactorMethod(name) }

// blendCandidates are the best methods by validation score that a blend
// may combine (Blendable, at most one factor method, at most
// c.blendTop), best first.
func blendCandidates(best []Trial, top int) []Trial {
	ranked := slices.Clone(best)
	slices.SortStableFunc(ranked, func(a, b Trial) int { return -cmpFloat(a.Score, b.Score) })
	var out []Trial
	factor := false
	for _, t := range ranked {
		if len(out) == top || !Blendable(t.Method) || (IsFactorMethod(t.Method) && factor) {
			continue
		}
		factor = factor || IsFactorMethod(t.Method)
		out = append(out, t)
	}
	return out
}

// chooseBlend blends the best blendable methods (blendCandidates) over the
// validation users (a spread sample of c.blendUsers when there are more)
// by coordinate search: the best of them
// weighing 1 and the others 0, then each other method's weight in turn
// set to the best of blendWeights with the rest held, for up to
// blendPasses passes or until a pass changes nothing. A step never lowers
// the score, so the blend is never worse than the best blendable method
// alone on these users; when the deadline ends the search, the weights
// reached so far stand. A blend is returned only when it beats the best
// single method on every validation user (measured there first when the
// weights were tuned on a sample); otherwise the best method alone is.
func chooseBlend(ctx context.Context, d *Dataset, valid []ValidUser, best []Trial, fits map[string]Scorer, metric Metric, c searchConfig) (Choice, error) {
	single := bestSingle(best)
	top := blendCandidates(best, c.blendTop)
	if len(top) < 2 {
		return single, nil
	}
	e := &Ensemble{d: d, pool: ServingPool(c.cutoff)}
	for _, t := range top {
		e.names = append(e.names, t.Method)
		e.models = append(e.models, fits[t.Method])
	}
	users := spread(valid, c.blendUsers)
	cases := make([]TuneCase, len(users))
	err := parallelFor(ctx, len(users), c.workers, 8, func(_, lo, hi int) {
		for k := lo; k < hi; k++ {
			cases[k] = e.tuneCase(users[k])
		}
	})
	if err != nil {
		return Choice{}, err
	}
	opts := []BlendOption{WithCutoff(c.cutoff), WithTuneWorkers(c.workers)}
	alone, err := TuneWeights(ctx, cases, map[string][]float64{top[0].Method: {1}}, metric, opts...)
	if err != nil {
		return Choice{}, err
	}
	blend, err := coordinateBlend(ctx, cases, top, metric, opts)
	if err != nil {
		return Choice{}, err
	}
	if blend.Score <= alone.Score {
		return single, nil
	}
	out := Choice{Score: blend.Score}
	full := &Ensemble{d: d, pool: e.pool, weights: map[string]float64{}}
	for _, t := range top {
		if w := blend.Weights[t.Method]; w != 0 {
			out.Components = append(out.Components, Component{Method: t.Method, Params: t.Params, Weight: w})
			full.names, full.models, full.weights[t.Method] = append(full.names, t.Method), append(full.models, fits[t.Method]), w
		}
	}
	if len(out.Components) == 1 {
		return single, nil
	}
	if len(users) < len(valid) {
		// The methods' scores are over every validation user: the blend
		// must beat the best of them on the same users to be chosen.
		if out.Score, err = evalScorer(ctx, d, valid, full, metric, c); err != nil {
			return Choice{}, err
		}
	}
	if out.Score <= single.Score {
		return single, nil
	}
	return out, nil
}

// coordinateBlend is chooseBlend's coordinate search over top's weights
// (top[0] fixed at 1). A deadline ending it keeps the weights reached.
func coordinateBlend(ctx context.Context, cases []TuneCase, top []Trial, metric Metric, opts []BlendOption) (TuneResult, error) {
	w := map[string]float64{}
	for n, t := range top {
		w[t.Method] = 0
		if n == 0 {
			w[t.Method] = 1
		}
	}
	grid := func(vary string) map[string][]float64 {
		g := map[string][]float64{}
		for name, x := range w {
			g[name] = []float64{x}
		}
		g[vary] = blendWeights
		return g
	}
	cur := TuneResult{Score: math.Inf(-1), Weights: maps.Clone(w)}
	for range blendPasses {
		changed := false
		for _, t := range top[1:] {
			r, err := TuneWeights(ctx, cases, grid(t.Method), metric, opts...)
			if expired(err) && cur.Score > math.Inf(-1) {
				return cur, nil
			}
			if err != nil {
				return TuneResult{}, err
			}
			cur.Tried += r.Tried
			if r.Score > cur.Score {
				changed = changed || r.Weights[t.Method] != w[t.Method]
				w[t.Method] = r.Weights[t.Method]
				cur.Score, cur.Weights = r.Score, maps.Clone(w)
			}
		}
		if !changed {
			break
		}
	}
	return cur, nil
}

// bestSingle is the best trial's method alone.
func bestSingle(best []Trial) Choice {
	t := slices.MaxFunc(best, func(a, b Trial) int { return cmpFloat(a.Score, b.Score) }) // the first of equals
	return Choice{Components: []Component{{Method: t.Method, Params: t.Params, Weight: 1}}, Score: t.Score}
}

// NewChoice builds a choice's unfitted model: the method itself, or an
// Ensemble of its components.
func NewChoice(c Choice) (Scorer, error) {
	switch len(c.Components) {
	case 0:
		return nil, fmt.Errorf("recommend: empty choice: %w", ErrInvalidOption)
	case 1:
		return New(c.Components[0].Method, c.Components[0].Params)
	}
	e := &Ensemble{pool: ServingPool(10), weights: map[string]float64{}}
	for _, x := range c.Components {
		m, err := New(x.Method, x.Params)
		if err != nil {
			return nil, err
		}
		e.names = append(e.names, x.Method)
		e.models = append(e.models, m)
		e.weights[x.Method] = x.Weight
	}
	return e, nil
}

// Ensemble blends several methods as the serving hybrid blends its
// sources: each method's best pool items (the user's own left out) are
// the candidates, every method's scores over them are z-normalised and
// summed with the weights (Blend), and items outside the candidates rank
// below them, tied.
type Ensemble struct {
	d       *Dataset
	names   []string
	models  []Scorer
	weights map[string]float64
	pool    int
	buf     scratch
}

// Fit implements Scorer: every component is fitted on d, in turn.
func (e *Ensemble) Fit(ctx context.Context, d *Dataset) error {
	for n, m := range e.models {
		if err := m.Fit(ctx, d); err != nil {
			return fmt.Errorf("recommend: ensemble %s: %w", e.names[n], err)
		}
	}
	e.d = d
	return nil
}

// candidates are user u's candidates and each method's scores over them.
func (e *Ensemble) candidates(u int) ([]int, map[string][]float64) {
	n := e.d.NumItems()
	own := ownItems(e.d, u)
	scores := make([][]float64, len(e.models))
	var cands []int
	seen := map[int]bool{}
	for k, m := range e.models {
		scores[k] = e.buf.get(n)
		m.ScoreUser(u, scores[k])
		for _, i := range TopItems(scores[k], e.pool, own) {
			if !seen[i] {
				seen[i] = true
				cands = append(cands, i)
			}
		}
	}
	parts := make(map[string][]float64, len(e.models))
	for k, name := range e.names {
		p := make([]float64, len(cands))
		for c, i := range cands {
			p[c] = scores[k][i]
		}
		parts[name] = p
		e.buf.put(scores[k])
	}
	return cands, parts
}

// tuneCase is one validation user as a TuneCase (held-out items that are
// no candidate count in the ideal but cannot be ranked).
func (e *Ensemble) tuneCase(u ValidUser) TuneCase {
	cands, parts := e.candidates(u.User)
	at := make(map[int]int, len(cands))
	for c, i := range cands {
		at[i] = c
	}
	rel := map[int]bool{}
	for m, i := range u.Relevant {
		if c, ok := at[int(i)]; ok {
			rel[c] = true
		} else {
			rel[-1-m] = true
		}
	}
	return TuneCase{Parts: parts, Relevant: rel}
}

// ScoreUser implements Scorer.
func (e *Ensemble) ScoreUser(u int, dst []float64) {
	cands, parts := e.candidates(u)
	blended, _ := Blend(parts, e.weights) // parts share one length
	lo := 0.0
	for _, v := range blended {
		lo = min(lo, v)
	}
	for i := range dst {
		dst[i] = lo - 1
	}
	for c, i := range cands {
		dst[i] = blended[c]
	}
}

// Recommend implements Scorer: the blended candidates only.
func (e *Ensemble) Recommend(userID string, k int, exclude map[string]bool) []ranking.Result {
	if e.d == nil {
		return nil
	}
	u, ok := e.d.UserIndex(userID)
	if !ok {
		return nil
	}
	s := e.buf.get(e.d.NumItems())
	defer e.buf.put(s)
	e.ScoreUser(u, s)
	cands, _ := e.candidates(u)
	in := make([]bool, len(s))
	for _, i := range cands {
		in[i] = true
	}
	for i := range s {
		if !in[i] {
			s[i] = math.Inf(-1)
		}
	}
	return results(e.d, "blend", s, u, k, exclude)
}
