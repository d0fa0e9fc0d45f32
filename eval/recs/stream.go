package recs

import (
	"context"
	"math"
	"sync"
	"sync/atomic"

	"github.com/vitrinehq/vitrine/eval/metrics"
	"github.com/vitrinehq/vitrine/recommend"
	"github.com/vitrinehq/vitrine/report"
)

// worker is one goroutine's catalogue-sized scratch space.
type worker struct {
	scores      []float64 // the user's score of every item
	masked, rel []bool    // the user's masked and relevant items
	cf, content []float64 // hybrid sources
	pos         []float64
	auc         metrics.AUCCounter
}

func (p *protocol) newWorker() *worker {
	n := p.d.NumItems()
	return &worker{scores: make([]float64, n), masked: make([]bool, n), rel: make([]bool, n)}
}

// scoreFunc writes user u's score of every item into w.scores; w.masked
// already marks the user's masked items.
type scoreFunc func(w *worker, u user)

// rankMetrics are the per-user metrics at K, in the order of the Summary.
func rankMetrics(k int) []metrics.Metric {
	return []metrics.Metric{metrics.RecallAt(k), metrics.NDCGAt(k), metrics.HitRateAt(k), metrics.MRRAt(k),
		metrics.MAPAt(k), metrics.PrecisionAt(k), metrics.AUCMetric()}
}

// userResult is one user's figures: the metrics at K but AUC, AUC, the
// recall and NDCG curve, and the top K for the beyond-accuracy figures.
type userResult struct {
	vals  []float64
	auc   float64
	aucOK bool
	curve [2 * report.CurveK]float64
	top   []int
}

// sums are the running sums over users, added in user order so the
// figures do not depend on scheduling.
type sums struct {
	vals  []float64
	auc   float64
	aucN  int
	curve [2 * report.CurveK]float64
	n     int
	lists *metrics.ListStats
}

func (s *sums) add(r *userResult) {
	for i, v := range r.vals {
		s.vals[i] += v
	}
	if r.aucOK {
		s.auc += r.auc
		s.aucN++
	}
	for i, v := range r.curve {
		s.curve[i] += v
	}
	s.n++
	s.lists.Add(r.top)
}

// batch is how many users are scored in parallel before their figures are
// summed: small enough to keep few results alive, large enough to keep
// the workers busy.
const batch = 256

// run ranks the catalogue for every user with score and returns the
// method's figures.
func (p *protocol) run(ctx context.Context, name string, score scoreFunc) (Result, error) {
	k := p.cfg.k
	ms := rankMetrics(k)
	s := sums{vals: make([]float64, len(ms)-1), lists: metrics.NewListStats(k, p.pop)}
	workers := make([]*worker, p.cfg.workers)
	for w := range workers {
		workers[w] = p.newWorker()
	}
	res := make([]userResult, batch)
	for lo := 0; lo < len(p.users); lo += batch {
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		us := p.users[lo:min(lo+batch, len(p.users))]
		var next atomic.Int64
		var wg sync.WaitGroup
		for _, w := range workers {
			wg.Go(func() {
				for j := int(next.Add(1)) - 1; j < len(us); j = int(next.Add(1)) - 1 {
					p.evalUser(w, us[j], score, &res[j])
				}
			})
		}
		wg.Wait()
		for j := range us {
			s.add(&res[j])
		}
	}
	return p.result(name, ms, &s), nil
}

// evalUser scores one user, ranks their top items with a heap (masked
// items left out) and computes their metrics.
func (p *protocol) evalUser(w *worker, u user, score scoreFunc, r *userResult) {
	own, _ := p.d.UserItems(u.index)
	setAll(w.masked, own, true)
	setAll(w.masked, u.mask, true)
	setAll(w.rel, u.relevant, true)
	score(w, u)
	depth := max(p.cfg.k, report.CurveK)
	top := recommend.TopItems(w.scores, depth, func(i int) bool { return w.masked[i] })
	// AUC over every unmasked item: the relevant ones' scores first, then
	// one pass over the others.
	w.pos = w.pos[:0]
	for _, i := range u.relevant {
		if !w.masked[i] {
			w.pos = append(w.pos, w.scores[i])
		}
	}
	w.auc.Reset(w.pos)
	for i, v := range w.scores {
		if !w.masked[i] && !w.rel[i] && !math.IsInf(v, -1) {
			w.auc.Negative(v)
		}
	}
	r.auc, r.aucOK = w.auc.AUC()
	setAll(w.masked, own, false)
	setAll(w.masked, u.mask, false)
	setAll(w.rel, u.relevant, false)

	ids := make([]string, len(top))
	for j, i := range top {
		ids[j] = p.catalog[i]
	}
	rel := make(metrics.Relevance, len(u.relevant))
	for _, i := range u.relevant {
		rel[p.catalog[i]] = 1
	}
	k := p.cfg.k
	r.vals = []float64{metrics.Recall(ids, rel, k), metrics.NDCG(ids, rel, k), metrics.HitRate(ids, rel, k),
		metrics.ReciprocalRank(ids, rel, k), metrics.AveragePrecision(ids, rel, k), metrics.Precision(ids, rel, k)}
	for c := 1; c <= report.CurveK; c++ {
		r.curve[2*(c-1)], r.curve[2*c-1] = metrics.Recall(ids, rel, c), metrics.NDCG(ids, rel, c)
	}
	r.top = top[:min(k, len(top))]
}

func setAll(flags []bool, idx []int32, v bool) {
	for _, i := range idx {
		flags[i] = v
	}
}

// result turns the sums into a Result.
func (p *protocol) result(name string, ms []metrics.Metric, s *sums) Result {
	sum := metrics.Summary{Evaluated: s.n, Skipped: p.skipped, Metrics: make([]metrics.Value, len(ms))}
	mean := func(x float64, n int) float64 {
		if n == 0 {
			return 0
		}
		return x / float64(n)
	}
	for i, m := range ms[:len(ms)-1] {
		sum.Metrics[i] = metrics.Value{Name: m.Name, Mean: mean(s.vals[i], s.n), N: s.n}
	}
	sum.Metrics[len(ms)-1] = metrics.Value{Name: ms[len(ms)-1].Name, Mean: mean(s.auc, s.aucN), N: s.aucN}
	r := Result{Method: name, Task: "ranking", Summary: sum, Beyond: map[string]float64{
		"coverage": s.lists.Coverage(), "exposure_gini": s.lists.ExposureGini(), "novelty": s.lists.Novelty(),
	}}
	for c := 1; c <= report.CurveK; c++ {
		r.Curve = append(r.Curve, report.CurvePoint{K: c, Recall: mean(s.curve[2*(c-1)], s.n), NDCG: mean(s.curve[2*c-1], s.n)})
	}
	return r
}
