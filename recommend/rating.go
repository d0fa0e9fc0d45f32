package recommend

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Rating is one explicit rating: the user gave the item Value (e.g. 1 to 5
// stars). Unlike Interaction values, ratings are not summed: a user who
// rated an item twice contributes two ratings.
type Rating struct {
	User  string
	Item  string
	Value float64
}

// RatingPredictor is an explicit-rating model, evaluated by RMSE and MAE
// rather than by ranking. Like the Scorers, it is fitted once and then
// read concurrently; a cancelled or failed FitRatings leaves the model as
// it was.
type RatingPredictor interface {
	// FitRatings trains on ratings, deterministically for a seed and the
	// same ratings in any order.
	FitRatings(ctx context.Context, ratings []Rating) error
	// Predict is the predicted rating, clipped to the range of the
	// training ratings. Users and items unseen in training fall back to
	// the biases that are known (in the end the global mean). NaN before
	// FitRatings.
	Predict(user, item string) float64
}

// ratingData is the training ratings with dense indices, in a canonical
// order (user id, item id, value) so that the models do not depend on the
// order of the input.
type ratingData struct {
	userIndex, itemIndex map[string]int32
	nu, ni               int
	u, i                 []int32
	r                    []float64
	mean, lo, hi         float64
}

func newRatingData(ctx context.Context, ratings []Rating) (*ratingData, error) {
	if len(ratings) == 0 {
		return nil, ErrNoInteractions
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for n, x := range ratings {
		if x.User == "" || x.Item == "" {
			return nil, fmt.Errorf("rating %d: empty user or item id: %w", n, ErrInvalidInteraction)
		}
		if math.IsNaN(x.Value) || math.IsInf(x.Value, 0) {
			return nil, fmt.Errorf("rating %d (%s, %s): value %v: %w", n, x.User, x.Item, x.Value, ErrInvalidInteraction)
		}
	}
	order := make([]int, len(ratings))
	for n := range order {
		order[n] = n
	}
	slices.SortFunc(order, func(a, b int) int {
		x, y := ratings[a], ratings[b]
		return cmp.Or(cmp.Compare(x.User, y.User), cmp.Compare(x.Item, y.Item), cmp.Compare(x.Value, y.Value))
	})
	d := &ratingData{
		userIndex: map[string]int32{}, itemIndex: map[string]int32{},
		u: make([]int32, len(ratings)), i: make([]int32, len(ratings)), r: make([]float64, len(ratings)),
		lo: math.Inf(1), hi: math.Inf(-1),
	}
	// Users get indices in sorted order as the ratings are sorted by user;
	// items in order of first appearance, which is just as deterministic.
	var sum float64
	for n, k := range order {
		x := ratings[k]
		u, ok := d.userIndex[x.User]
		if !ok {
			u = int32(len(d.userIndex))
			d.userIndex[x.User] = u
		}
		i, ok := d.itemIndex[x.Item]
		if !ok {
			i = int32(len(d.itemIndex))
			d.itemIndex[x.Item] = i
		}
		d.u[n], d.i[n], d.r[n] = u, i, x.Value
		sum += x.Value
		d.lo, d.hi = min(d.lo, x.Value), max(d.hi, x.Value)
	}
	d.nu, d.ni = len(d.userIndex), len(d.itemIndex)
	d.mean = sum / float64(len(ratings))
	return d, nil
}

func (d *ratingData) clip(v float64) float64 { return min(max(v, d.lo), d.hi) }

// lookup gives the indices of a user and an item, -1 when unseen.
func (d *ratingData) lookup(user, item string) (u, i int) {
	u, i = -1, -1
	if x, ok := d.userIndex[user]; ok {
		u = int(x)
	}
	if x, ok := d.itemIndex[item]; ok {
		i = int(x)
	}
	return u, i
}

// GlobalMean predicts the mean of the training ratings for every pair:
// the floor every rating model must beat.
type GlobalMean struct {
	d *ratingData
}

// NewGlobalMean returns an unfitted model.
func NewGlobalMean() *GlobalMean { return &GlobalMean{} }

// FitRatings implements RatingPredictor.
func (m *GlobalMean) FitRatings(ctx context.Context, ratings []Rating) error {
	d, err := newRatingData(ctx, ratings)
	if err != nil {
		return fitError("global-mean", err)
	}
	m.d = d
	return nil
}

// Predict implements RatingPredictor.
func (m *GlobalMean) Predict(_, _ string) float64 {
	if m.d == nil {
		return math.NaN()
	}
	return m.d.mean
}

// Mean is the mean training rating (NaN before FitRatings).
func (m *GlobalMean) Mean() float64 { return m.Predict("", "") }

// BiasBaseline is Koren's baseline predictor r̂_ui = μ + b_u + b_i (Koren,
// "Factor in the neighbors", TKDD 2010, section 2.1), with the biases
// fitted by alternating regularised least squares: each pass sets every
//
//	b_i = Σ_{u∈R(i)} (r_ui − μ − b_u) / (λ_i + |R(i)|), then every
//	b_u = Σ_{i∈R(u)} (r_ui − μ − b_i) / (λ_u + |R(u)|),
//
// starting from b_u = 0, so one pass is the paper's closed form and more
// passes converge to the minimiser of Σ (r_ui − μ − b_u − b_i)² +
// λ_u Σ b_u² + λ_i Σ b_i². (Surprise's BaselineOnly with method "als" does
// the same with the users first.) It has no randomness.
type BiasBaseline struct {
	cfg config
	b   *biases
}

// NewBiasBaseline returns an unfitted model. Defaults: λ_u 15, λ_i 10,
// 10 passes (Surprise's).
func NewBiasBaseline(opts ...Option) *BiasBaseline {
	return &BiasBaseline{cfg: newConfig(config{iterations: 10, regUser: 15, regItem: 10}, opts)}
}

// biases is the fitted state shared by BiasBaseline and SVD.
type biases struct {
	d          *ratingData
	user, item []float64
}

// predict is μ + b_u + b_i for the known ones (u, i = -1: unknown).
func (b *biases) predict(u, i int) float64 {
	v := b.d.mean
	if u >= 0 {
		v += b.user[u]
	}
	if i >= 0 {
		v += b.item[i]
	}
	return v
}

func (b *biases) userBias(id string) (float64, bool) {
	if b == nil {
		return 0, false
	}
	u, ok := b.d.userIndex[id]
	if !ok {
		return 0, false
	}
	return b.user[u], true
}

func (b *biases) itemBias(id string) (float64, bool) {
	if b == nil {
		return 0, false
	}
	i, ok := b.d.itemIndex[id]
	if !ok {
		return 0, false
	}
	return b.item[i], true
}

// FitRatings implements RatingPredictor.
func (m *BiasBaseline) FitRatings(ctx context.Context, ratings []Rating) error {
	c := m.cfg
	if c.iterations < 0 || c.regUser < 0 || c.regItem < 0 {
		return fitError("bias-baseline", fmt.Errorf("passes %d, regularization (user %v, item %v): %w",
			c.iterations, c.regUser, c.regItem, ErrInvalidOption))
	}
	d, err := newRatingData(ctx, ratings)
	if err != nil {
		return fitError("bias-baseline", err)
	}
	b := &biases{d: d, user: make([]float64, d.nu), item: make([]float64, d.ni)}
	count := func(idx []int32, n int) []float64 {
		c := make([]float64, n)
		for _, x := range idx {
			c[x]++
		}
		return c
	}
	nu, ni := count(d.u, d.nu), count(d.i, d.ni)
	sum := make([]float64, max(d.nu, d.ni))
	for range c.iterations {
		if err := ctx.Err(); err != nil {
			return fitError("bias-baseline", err)
		}
		clear(sum)
		for n, r := range d.r {
			sum[d.i[n]] += r - d.mean - b.user[d.u[n]]
		}
		for i := range b.item {
			b.item[i] = sum[i] / (c.regItem + ni[i])
		}
		clear(sum)
		for n, r := range d.r {
			sum[d.u[n]] += r - d.mean - b.item[d.i[n]]
		}
		for u := range b.user {
			b.user[u] = sum[u] / (c.regUser + nu[u])
		}
	}
	if err := finite("bias-baseline", b.user, b.item); err != nil {
		return err
	}
	m.b = b
	return nil
}

// Predict implements RatingPredictor.
func (m *BiasBaseline) Predict(user, item string) float64 {
	if m.b == nil {
		return math.NaN()
	}
	u, i := m.b.d.lookup(user, item)
	return m.b.d.clip(m.b.predict(u, i))
}

// Mean is μ, the mean training rating (NaN before FitRatings).
func (m *BiasBaseline) Mean() float64 {
	if m.b == nil {
		return math.NaN()
	}
	return m.b.d.mean
}

// UserBias is b_u; false for a user unseen in training.
func (m *BiasBaseline) UserBias(user string) (float64, bool) { return m.b.userBias(user) }

// ItemBias is b_i; false for an item unseen in training.
func (m *BiasBaseline) ItemBias(item string) (float64, bool) { return m.b.itemBias(item) }

// SVD is biased matrix factorisation for explicit ratings, "SVD" in Funk's
// Netflix Prize write-up, Koren, Bell and Volinsky (IEEE Computer 2009,
// equation 5), Surprise and LibRec: r̂_ui = μ + b_u + b_i + p_u·q_i,
// fitted by SGD on Σ (r_ui − r̂_ui)² + λ(b_u² + b_i² + |p_u|² + |q_i|²):
// for each rating, in an order shuffled every epoch with the seed,
//
//	e = r_ui − r̂_ui
//	b_u += γ(e − λ b_u),  b_i += γ(e − λ b_i)
//	p_u += γ(e q_i − λ p_u),  q_i += γ(e p_u − λ q_i)
//
// Biases start at 0, factors from N(0, 0.1²). Predictions are clipped to
// the range of the training ratings; a user (item) unseen in training has
// no factors and is predicted from the biases that are known. The SGD is
// sequential: a fit depends only on the ratings, the options and the seed.
type SVD struct {
	cfg  config
	b    *biases
	k    int
	p, q []float64 // users × k, items × k
}

// NewSVD returns an unfitted model. Defaults (Surprise's): 100 factors,
// learning rate 0.005, λ 0.02, 20 epochs, seed 1.
func NewSVD(opts ...Option) *SVD {
	return &SVD{cfg: newConfig(config{factors: 100, lr: 0.005, reg: 0.02, iterations: 20}, opts)}
}

const svdStream = 0x737664

// FitRatings implements RatingPredictor.
func (m *SVD) FitRatings(ctx context.Context, ratings []Rating) error {
	c := m.cfg
	if c.factors < 1 || c.lr <= 0 || c.reg < 0 || c.iterations < 0 {
		return fitError("svd", fmt.Errorf("factors %d, learning rate %v, regularization %v, epochs %d: %w",
			c.factors, c.lr, c.reg, c.iterations, ErrInvalidOption))
	}
	d, err := newRatingData(ctx, ratings)
	if err != nil {
		return fitError("svd", err)
	}
	k := c.factors
	rng := rand.New(rand.NewPCG(c.seed, svdStream))
	p := randomFactors(rng, d.nu, k, 0.1)
	q := randomFactors(rng, d.ni, k, 0.1)
	bu, bi := make([]float64, d.nu), make([]float64, d.ni)
	order := make([]int32, len(d.r))
	for n := range order {
		order[n] = int32(n)
	}
	lr, reg := c.lr, c.reg
	for range c.iterations {
		rng.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
		for done, n := range order {
			if done&0xffff == 0 {
				if err := ctx.Err(); err != nil {
					return fitError("svd", err)
				}
			}
			u, i := int(d.u[n]), int(d.i[n])
			pu, qi := p[u*k:(u+1)*k:(u+1)*k], q[i*k:(i+1)*k:(i+1)*k]
			dot := 0.0
			for f, x := range pu {
				dot += x * qi[f]
			}
			e := d.r[n] - (d.mean + bu[u] + bi[i] + dot)
			bu[u] += lr * (e - reg*bu[u])
			bi[i] += lr * (e - reg*bi[i])
			for f, x := range pu {
				y := qi[f]
				pu[f] += lr * (e*y - reg*x)
				qi[f] += lr * (e*x - reg*y)
			}
		}
		if err := finite("svd", bu, bi); err != nil {
			return fmt.Errorf("%w (diverged: lower the learning rate)", err)
		}
	}
	if err := finite("svd", p, q); err != nil {
		return fmt.Errorf("%w (diverged: lower the learning rate)", err)
	}
	m.b, m.k, m.p, m.q = &biases{d: d, user: bu, item: bi}, k, p, q
	return nil
}

// Predict implements RatingPredictor.
func (m *SVD) Predict(user, item string) float64 {
	if m.b == nil {
		return math.NaN()
	}
	u, i := m.b.d.lookup(user, item)
	v := m.b.predict(u, i)
	if u >= 0 && i >= 0 {
		k := m.k
		pu, qi := m.p[u*k:(u+1)*k], m.q[i*k:(i+1)*k]
		for f, x := range pu {
			v += x * qi[f]
		}
	}
	return m.b.d.clip(v)
}

// Mean is μ, the mean training rating (NaN before FitRatings).
func (m *SVD) Mean() float64 {
	if m.b == nil {
		return math.NaN()
	}
	return m.b.d.mean
}

// UserBias is the fitted b_u; false for a user unseen in training.
func (m *SVD) UserBias(user string) (float64, bool) { return m.b.userBias(user) }

// ItemBias is the fitted b_i; false for an item unseen in training.
func (m *SVD) ItemBias(item string) (float64, bool) { return m.b.itemBias(item) }

// finite checks fitted parameters for NaN and infinities.
func finite(model string, xs ...[]float64) error {
	for _, x := range xs {
		for _, v := range x {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fitError(model, fmt.Errorf("a parameter is %v", v))
			}
		}
	}
	return nil
}
