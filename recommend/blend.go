package recommend

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"runtime"
	"slices"
)

// ErrMismatch: score vectors of one blend differ in length.
var ErrMismatch = errors.New("recommend: score vectors differ in length")

// Normalization puts one source's scores for one user on a common scale,
// so that weights, not the sources' units (a dot product, a cosine, a
// count), decide the blend.
type Normalization int

const (
	// ZScore maps s to (s − mean)/sd: robust to a source whose scores
	// bunch together, the default.
	ZScore Normalization = iota
	// MinMax maps s to (s − min)/(max − min), in [0, 1]: sensitive to
	// outliers, but keeps every contribution non-negative.
	MinMax
)

// BlendOption configures Blend and TuneWeights.
type BlendOption func(*blendConfig)

type blendConfig struct {
	norm    Normalization
	cutoff  int
	workers int
}

// WithNormalization picks the per-source normalisation (default ZScore).
func WithNormalization(n Normalization) BlendOption { return func(c *blendConfig) { c.norm = n } }

// WithCutoff sets the length of the lists TuneWeights hands the metric
// (default 10, for NDCG@10).
func WithCutoff(k int) BlendOption { return func(c *blendConfig) { c.cutoff = k } }

// WithTuneWorkers sets TuneWeights' goroutines (default GOMAXPROCS).
func WithTuneWorkers(n int) BlendOption { return func(c *blendConfig) { c.workers = n } }

func newBlendConfig(opts []BlendOption) (blendConfig, error) {
	c := blendConfig{norm: ZScore, cutoff: 10}
	for _, o := range opts {
		o(&c)
	}
	if c.workers <= 0 {
		c.workers = runtime.GOMAXPROCS(0)
	}
	if c.norm != ZScore && c.norm != MinMax || c.cutoff < 1 {
		return c, fmt.Errorf("normalization %d, cutoff %d: %w", c.norm, c.cutoff, ErrInvalidOption)
	}
	return c, nil
}

// Normalize writes scores normalised by n into dst (same length; dst may
// be scores). NaN and +Inf mean "no score from this source" and become 0;
// -Inf means "excluded" and stays -Inf. Constant scores become 0.
func Normalize(dst, scores []float64, n Normalization) {
	var cnt, sum, sq float64
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range scores {
		if math.IsNaN(s) || math.IsInf(s, 0) {
			continue
		}
		cnt++
		sum += s
		lo, hi = min(lo, s), max(hi, s)
	}
	mean := sum / cnt
	for _, s := range scores {
		if !math.IsNaN(s) && !math.IsInf(s, 0) {
			sq += (s - mean) * (s - mean)
		}
	}
	sd := math.Sqrt(sq / cnt)
	for i, s := range scores {
		switch {
		case math.IsInf(s, -1):
			dst[i] = s
		case math.IsNaN(s) || math.IsInf(s, 1):
			dst[i] = 0
		case n == MinMax && hi > lo:
			dst[i] = (s - lo) / (hi - lo)
		case n == ZScore && sd > 0:
			dst[i] = (s - mean) / sd
		default:
			dst[i] = 0
		}
	}
}

// Blend combines several sources' scores for one user's candidates (same
// length and order in every source, e.g. ScoreUser of a CF model, content
// cosines, Popularity.Scores) as Σ_s w_s·normalise(scores_s). Sources
// without a weight are ignored, weights without a source contribute
// nothing. See Normalize for NaN and -Inf.
func Blend(parts map[string][]float64, weights map[string]float64, opts ...BlendOption) ([]float64, error) {
	c, err := newBlendConfig(opts)
	if err != nil {
		return nil, fmt.Errorf("recommend: blend: %w", err)
	}
	names := slices.Sorted(maps.Keys(parts)) // fixed order: float sums must not follow map order
	n := -1
	for _, name := range names {
		if n >= 0 && len(parts[name]) != n {
			return nil, fmt.Errorf("recommend: blend: %s has %d scores, others %d: %w", name, len(parts[name]), n, ErrMismatch)
		}
		n = len(parts[name])
	}
	out := make([]float64, max(n, 0))
	norm := make([]float64, len(out))
	for _, name := range names {
		w := weights[name]
		if w == 0 {
			continue
		}
		Normalize(norm, parts[name], c.norm)
		for i, v := range norm {
			out[i] += w * v
		}
	}
	return out, nil
}

// TuneCase is one validation user: each source's scores over the user's
// candidates (as for Blend), the candidates that are relevant (held-out
// interactions) and those never to rank (the user's training items).
type TuneCase struct {
	Parts    map[string][]float64
	Relevant map[int]bool
	Exclude  []int
}

// Metric scores one ranked list of candidate indices, best first, against
// the relevant ones: e.g. NDCG@10 from an evaluation package. TuneWeights
// calls it from several goroutines.
type Metric func(ranked []int, relevant map[int]bool) float64

// TuneResult is the best point of a weight grid.
type TuneResult struct {
	Weights map[string]float64
	Score   float64 // mean metric over the cases at Weights
	Tried   int     // grid points evaluated
}

// TuneWeights tries every combination of the grid's weights (all-zero
// points skipped), blends each case, ranks its top cutoff candidates and
// returns the combination with the best mean metric; ties go to the
// earlier point, sources and their weights enumerated in sorted name and
// given order. Normalisation is done once per case and source, so a point
// costs one weighted sum and one top-k per case. Grid points run in
// parallel; ctx cancels.
func TuneWeights(ctx context.Context, cases []TuneCase, grid map[string][]float64, metric Metric, opts ...BlendOption) (TuneResult, error) {
	c, err := newBlendConfig(opts)
	if err != nil {
		return TuneResult{}, fmt.Errorf("recommend: tune weights: %w", err)
	}
	names := slices.Sorted(maps.Keys(grid))
	points := 1
	for _, name := range names {
		points *= len(grid[name])
	}
	if len(cases) == 0 || len(names) == 0 || points == 0 || metric == nil {
		return TuneResult{}, fmt.Errorf("recommend: tune weights: %d cases, %d grid points: %w", len(cases), points, ErrInvalidOption)
	}
	prep, maxN, err := prepareCases(cases, names, c.norm)
	if err != nil {
		return TuneResult{}, fmt.Errorf("recommend: tune weights: %w", err)
	}
	// Point q's weight of source s is grid[s][digit s of q], mixed radix.
	weightsOf := func(q int) []float64 {
		w := make([]float64, len(names))
		for s := len(names) - 1; s >= 0; s-- {
			vals := grid[names[s]]
			w[s] = vals[q%len(vals)]
			q /= len(vals)
		}
		return w
	}
	score := make([]float64, points)
	bufs := make([][]float64, c.workers)
	for w := range bufs {
		bufs[w] = make([]float64, maxN)
	}
	err = parallelFor(ctx, points, c.workers, 1, func(worker, q, _ int) {
		w := weightsOf(q)
		if !slices.ContainsFunc(w, func(x float64) bool { return x != 0 }) {
			score[q] = math.NaN()
			return
		}
		var sum float64
		for ci, p := range prep {
			sum += metric(p.rank(bufs[worker], w, c.cutoff), cases[ci].Relevant)
		}
		score[q] = sum / float64(len(prep))
	})
	if err != nil {
		return TuneResult{}, fmt.Errorf("recommend: tune weights: %w", err)
	}
	best, tried := bestPoint(score)
	if best < 0 {
		return TuneResult{}, fmt.Errorf("recommend: tune weights: every grid point is all zeros: %w", ErrInvalidOption)
	}
	res := TuneResult{Weights: map[string]float64{}, Score: score[best], Tried: tried}
	for s, w := range weightsOf(best) {
		res.Weights[names[s]] = w
	}
	return res, nil
}

// preparedCase is a TuneCase normalised once per grid source.
type preparedCase struct {
	norm [][]float64 // per grid source; nil when the case lacks it
	skip []bool
	n    int
}

// prepareCases normalises every case's sources (in the grid's name
// order) and marks its excluded candidates; maxN is the longest case.
func prepareCases(cases []TuneCase, names []string, norm Normalization) ([]preparedCase, int, error) {
	prep := make([]preparedCase, len(cases))
	maxN := 0
	for ci, tc := range cases {
		n := -1
		for _, s := range tc.Parts {
			if n >= 0 && len(s) != n {
				return nil, 0, fmt.Errorf("case %d: %w", ci, ErrMismatch)
			}
			n = len(s)
		}
		p := preparedCase{norm: make([][]float64, len(names)), n: max(n, 0)}
		p.skip = make([]bool, p.n)
		for _, i := range tc.Exclude {
			if i >= 0 && i < p.n {
				p.skip[i] = true
			}
		}
		for si, name := range names {
			if s, ok := tc.Parts[name]; ok {
				p.norm[si] = make([]float64, p.n)
				Normalize(p.norm[si], s, norm)
			}
		}
		prep[ci] = p
		maxN = max(maxN, p.n)
	}
	return prep, maxN, nil
}

// rank blends the case with weights w into buf and returns its top cutoff
// candidates.
func (p preparedCase) rank(buf, w []float64, cutoff int) []int {
	b := buf[:p.n]
	clear(b)
	for s, norm := range p.norm {
		if norm == nil || w[s] == 0 {
			continue
		}
		for i, v := range norm {
			b[i] += w[s] * v
		}
	}
	return TopItems(b, cutoff, func(i int) bool { return p.skip[i] })
}

// bestPoint is the index of the highest score (the earliest on ties; -1
// when every point is NaN) and how many points were not NaN.
func bestPoint(score []float64) (best, tried int) {
	best = -1
	for q, s := range score {
		if math.IsNaN(s) {
			continue
		}
		tried++
		if best < 0 || s > score[best] {
			best = q
		}
	}
	return best, tried
}
