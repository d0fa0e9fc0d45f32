package recommend

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vitrinehq/vitrine/ranking"
)

// Scorer is a fitted recommender. Results are ranking.Result so that they
// flow straight into ranking.RRF, ranking.Personalize and the API's JSON
// without a conversion; Parts names the model that produced the score.
type Scorer interface {
	// Fit trains on d, using every core, deterministically for a seed.
	Fit(ctx context.Context, d *Dataset) error
	// ScoreUser writes user index u's score of every item into dst,
	// which must have length NumItems of the fitted dataset.
	ScoreUser(u int, dst []float64)
	// Recommend returns the user's best k items, leaving out the items
	// the user already has in the dataset and those in exclude. Unknown
	// users get nil (Popularity, the usual fallback, answers everyone).
	Recommend(userID string, k int, exclude map[string]bool) []ranking.Result
}

// ItemSimilarity is a model that knows which items go together.
type ItemSimilarity interface {
	// SimilarItems returns the k items most similar to itemID, without it.
	SimilarItems(itemID string, k int) []ranking.Result
}

// Factorizer is a model with latent factors, to store (pgvector) and
// serve by inner product: ScoreUser(u)[i] = UserFactors()[u] · ItemFactors()[i].
type Factorizer interface {
	UserFactors() [][]float32
	ItemFactors() [][]float32
}

// FoldInner scores users the model was not fitted on from their events.
type FoldInner interface {
	// FoldIn returns a user vector for a new user with these items and
	// values (nil values: 1 each), in the layout of UserFactors.
	FoldIn(items []string, values []float64) []float32
	// ScoreVector is ScoreUser for a user vector from FoldIn.
	ScoreVector(user []float32, dst []float64)
}

// Option configures a model. Each model reads the options it has and
// ignores the others, so one option list can configure several models.
type Option func(*config)

type config struct {
	factors    int
	reg        float64
	alpha      float64
	iterations int
	cgSteps    int
	lr         float64
	regUser    float64 // BiasBaseline's λ_u
	regItem    float64 // BiasBaseline's λ_i
	blocks     int
	foldEpochs int
	neighbours int
	shrink     float64
	halfLife   time.Duration
	recency    float64 // half-life in a user's own events (sequence-aware scoring)
	window     int     // sequence models: steps ahead (transitions) or session length
	beta       float64 // RP3beta's popularity penalty
	maxItems   int     // EASE's item cap
	now        time.Time
	seed       uint64
	workers    int
	progress   func(done, total int) // Fit's progress (OnProgress); nil: none
}

// report calls the progress callback, if any.
func (c config) report(done, total int) {
	if c.progress != nil {
		c.progress(done, total)
	}
}

// WithFactors sets the number of latent factors (ALS, BPR, SVD).
func WithFactors(k int) Option { return func(c *config) { c.factors = k } }

// WithRegularization sets the L2 penalty (ALS: λ added to the k×k system,
// not scaled by the user's event count, as in implicit; BPR and SVD: per
// update).
func WithRegularization(l float64) Option { return func(c *config) { c.reg = l } }

// WithAlpha sets the confidence slope c = 1 + alpha·|r| (ALS).
func WithAlpha(a float64) Option { return func(c *config) { c.alpha = a } }

// WithIterations sets ALS sweeps (users then items), BPR or SVD epochs, or
// BiasBaseline passes (items then users).
func WithIterations(n int) Option { return func(c *config) { c.iterations = n } }

// WithBiasRegularization sets BiasBaseline's penalties λ_u on the user
// biases and λ_i on the item biases.
func WithBiasRegularization(user, item float64) Option {
	return func(c *config) { c.regUser, c.regItem = user, item }
}

// WithCGSteps sets the conjugate-gradient steps per user or item in each
// ALS sweep; 0 solves every k×k system exactly (Cholesky), which is slower.
func WithCGSteps(n int) Option { return func(c *config) { c.cgSteps = n } }

// WithLearningRate sets the SGD step of BPR and SVD.
func WithLearningRate(lr float64) Option { return func(c *config) { c.lr = lr } }

// WithBlocks sets BPR's stratification: users and items are split into n
// blocks each and the n diagonal strata of a sub-epoch run in parallel
// (DSGD, Gemulla et al. 2011). Results depend on n, not on the cores, so
// keep it fixed across machines for reproducible factors.
func WithBlocks(n int) Option { return func(c *config) { c.blocks = n } }

// WithFoldInEpochs sets the SGD passes of BPR's FoldIn.
func WithFoldInEpochs(n int) Option { return func(c *config) { c.foldEpochs = n } }

// WithNeighbours sets how many neighbours ItemKNN keeps per item.
func WithNeighbours(k int) Option { return func(c *config) { c.neighbours = k } }

// WithShrinkage sets ItemKNN's shrinkage: sim = a·b / (|a||b| + shrink),
// which discounts similarities resting on few shared users.
func WithShrinkage(s float64) Option { return func(c *config) { c.shrink = s } }

// WithHalfLife makes Popularity decay each pair's weight by
// 0.5^(age/halfLife), age taken from the pair's latest event.
func WithHalfLife(h time.Duration) Option { return func(c *config) { c.halfLife = h } }

// WithRecency weighs a user's events by 0.5^(age/h), age being the
// number of the user's later events (ItemKNN, Transitions, SessionKNN);
// h ≤ 0 (ItemKNN's default) weighs every event alike.
func WithRecency(h float64) Option { return func(c *config) { c.recency = h } }

// WithWindow sets how many following events count as "next" for
// Transitions, and the longest session SessionKNN reads.
func WithWindow(n int) Option { return func(c *config) { c.window = n } }

// WithBeta sets RP3beta's popularity penalty: item j's score is divided by
// its popularity^beta.
func WithBeta(b float64) Option { return func(c *config) { c.beta = b } }

// WithMaxItems caps EASE at the n most popular items (its memory grows as
// n² and its fit time as n³).
func WithMaxItems(n int) Option { return func(c *config) { c.maxItems = n } }

// WithNow sets the reference time for the decay (default: the dataset's
// latest event, so that fitting the same data twice gives the same model).
func WithNow(t time.Time) Option { return func(c *config) { c.now = t } }

// WithSeed sets the random seed.
func WithSeed(s uint64) Option { return func(c *config) { c.seed = s } }

// WithWorkers sets the goroutines Fit uses (default runtime.GOMAXPROCS).
// Results do not depend on it.
func WithWorkers(n int) Option { return func(c *config) { c.workers = n } }

func newConfig(defaults config, opts []Option) config {
	c := defaults
	c.seed = 1
	for _, o := range opts {
		o(&c)
	}
	if c.workers <= 0 {
		c.workers = runtime.GOMAXPROCS(0)
	}
	return c
}

func checkFit(ctx context.Context, d *Dataset) error {
	if d == nil || d.NNZ() == 0 {
		return ErrNoInteractions
	}
	return ctx.Err()
}

// parallelFor calls fn on chunks [lo, hi) of [0, n) from workers
// goroutines, worker being the goroutine's number (for scratch space).
// Chunks are handed out dynamically because rows differ a lot in length;
// since each index is processed by one call whose result does not depend
// on which goroutine ran it, the outcome does not depend on scheduling.
// It stops handing out chunks once ctx is done and returns ctx's error.
func parallelFor(ctx context.Context, n, workers, chunk int, fn func(worker, lo, hi int)) error {
	if chunk < 1 {
		chunk = 1
	}
	workers = max(1, min(workers, (n+chunk-1)/chunk))
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				lo := int(next.Add(int64(chunk))) - chunk
				if lo >= n {
					return
				}
				fn(w, lo, min(lo+chunk, n))
			}
		})
	}
	wg.Wait()
	return ctx.Err()
}

// TopItems returns the indices of the k highest scores, best first, ties
// to the lower index (the lower id, see Dataset). Indices for which skip
// is true, and NaN or -Inf scores, are left out. skip may be nil.
func TopItems(scores []float64, k int, skip func(i int) bool) []int {
	if k <= 0 {
		return nil
	}
	h := topHeap{k: k}
	for i, s := range scores {
		if math.IsNaN(s) || math.IsInf(s, -1) || (skip != nil && skip(i)) {
			continue
		}
		h.push(int32(i), s)
	}
	return h.sorted()
}

// topHeap keeps the k best (index, score) pairs in a min-heap whose root
// is the worst kept: lower score, or equal score and higher index.
type topHeap struct {
	k     int
	idx   []int32
	score []float64
}

func (h *topHeap) worse(a, b int) bool {
	if h.score[a] != h.score[b] {
		return h.score[a] < h.score[b]
	}
	return h.idx[a] > h.idx[b]
}

func (h *topHeap) push(i int32, s float64) {
	if len(h.idx) < h.k {
		h.idx = append(h.idx, i)
		h.score = append(h.score, s)
		for c := len(h.idx) - 1; c > 0; {
			p := (c - 1) / 2
			if !h.worse(c, p) {
				break
			}
			h.swap(c, p)
			c = p
		}
		return
	}
	if s < h.score[0] || (s == h.score[0] && i > h.idx[0]) {
		return
	}
	h.idx[0], h.score[0] = i, s
	h.down(0, len(h.idx))
}

func (h *topHeap) swap(a, b int) {
	h.idx[a], h.idx[b] = h.idx[b], h.idx[a]
	h.score[a], h.score[b] = h.score[b], h.score[a]
}

func (h *topHeap) down(p, n int) {
	for {
		c := 2*p + 1
		if c >= n {
			return
		}
		if c+1 < n && h.worse(c+1, c) {
			c++
		}
		if !h.worse(c, p) {
			return
		}
		h.swap(c, p)
		p = c
	}
}

// sorted empties the heap into indices best first.
func (h *topHeap) sorted() []int {
	idx, _ := h.drain()
	return idx
}

// drain empties the heap into indices and scores, best first.
func (h *topHeap) drain() ([]int, []float64) {
	idx, sc := make([]int, len(h.idx)), make([]float64, len(h.idx))
	for n := len(h.idx) - 1; n >= 0; n-- {
		idx[n], sc[n] = int(h.idx[0]), h.score[0]
		h.swap(0, n)
		h.down(0, n)
	}
	h.idx, h.score = h.idx[:0], h.score[:0]
	return idx, sc
}

// scratch pools the per-call score buffers of Recommend and friends.
type scratch struct{ pool, pool32 sync.Pool }

func (s *scratch) get(n int) []float64 {
	if b, ok := s.pool.Get().(*[]float64); ok && len(*b) == n {
		return *b
	}
	return make([]float64, n)
}

func (s *scratch) put(b []float64) { s.pool.Put(&b) }

func (s *scratch) get32(n int) []float32 {
	if b, ok := s.pool32.Get().(*[]float32); ok && len(*b) == n {
		return *b
	}
	return make([]float32, n)
}

func (s *scratch) put32(b []float32) { s.pool32.Put(&b) }

// results turns the top k of scores into ranking.Results named after the
// model, after masking the user's own items (u < 0: none) and exclude.
// scores is overwritten.
func results(d *Dataset, name string, scores []float64, u, k int, exclude map[string]bool) []ranking.Result {
	if u >= 0 {
		items, _ := d.UserItems(u)
		for _, i := range items {
			scores[i] = math.Inf(-1)
		}
	}
	for id, ex := range exclude {
		if i, ok := d.itemIndex[id]; ok && ex {
			scores[i] = math.Inf(-1)
		}
	}
	top := TopItems(scores, k, nil)
	out := make([]ranking.Result, len(top))
	for n, i := range top {
		out[n] = ranking.Result{ProductID: d.items[i], Score: scores[i], Parts: []ranking.Part{{Name: name, Score: scores[i]}}}
	}
	return out
}

// similar turns the top k of sims (item self already masked) into results.
func similar(d *Dataset, name string, sims []float64, k int) []ranking.Result {
	top := TopItems(sims, k, nil)
	out := make([]ranking.Result, len(top))
	for n, i := range top {
		out[n] = ranking.Result{ProductID: d.items[i], Score: sims[i], Parts: []ranking.Part{{Name: name, Score: sims[i]}}}
	}
	return out
}

// foldInputs resolves fold-in items to indices with summed values,
// dropping unknown items; nil values mean 1 each. ok is false when values
// does not match items.
func foldInputs(d *Dataset, items []string, values []float64) (idx []int32, vals []float64, ok bool) {
	if values != nil && len(values) != len(items) {
		return nil, nil, false
	}
	sum := map[int32]float64{}
	for n, id := range items {
		i, known := d.itemIndex[id]
		if !known {
			continue
		}
		v := 1.0
		if values != nil {
			v = values[n]
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		sum[int32(i)] += v
	}
	for i, v := range sum {
		if v != 0 {
			idx = append(idx, i)
		}
	}
	slices.Sort(idx) // map order is random; sums below must not be
	vals = make([]float64, len(idx))
	for n, i := range idx {
		vals[n] = sum[i]
	}
	return idx, vals, true
}

func fitError(model string, err error) error {
	return fmt.Errorf("recommend: %s fit: %w", model, err)
}
