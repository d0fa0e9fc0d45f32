package recommend

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/vitrinehq/vitrine/ranking"
)

// BPR is Bayesian personalised ranking (Rendle et al. 2009): factors and
// an item bias fitted by SGD on triples (u, i, j), i an item of u's and j
// a uniformly sampled item that is not, maximising Σ ln σ(x_ui − x_uj)
// with x_ui = x_u·y_i + b_i. Only positive pairs (r > 0) are positives;
// values do not weight them.
//
// Parallel SGD is stratified rather than Hogwild: each epoch users and
// items are dealt at random into B blocks, and in each of B sub-epochs the
// B strata (user block p, item block p+s mod B) touch disjoint users and
// disjoint items, so they run in parallel without locks or races (DSGD,
// Gemulla et al. 2011). The negative of a triple is drawn from its
// positive's item block; as blocks are redrawn every epoch, a negative is
// still uniform over the catalogue across epochs. Every stratum has its
// own seeded generator, so the factors depend on the seed and the number
// of blocks, never on the cores or the scheduler.
type BPR struct {
	cfg config
	f   *factorModel
}

// NewBPR returns an unfitted model. Defaults: 64 factors, learning rate
// 0.05, λ 0.01, 30 epochs, 4 blocks, 50 fold-in epochs, seed 1.
func NewBPR(opts ...Option) *BPR {
	return &BPR{cfg: newConfig(config{factors: 64, lr: 0.05, reg: 0.01, iterations: 30, blocks: 4, foldEpochs: 50}, opts)}
}

const bprStream = 0x627072

// Fit implements Scorer.
func (m *BPR) Fit(ctx context.Context, d *Dataset) error {
	c := m.cfg
	if err := checkFit(ctx, d); err != nil {
		return fitError("bpr", err)
	}
	if c.factors < 1 || c.lr <= 0 || c.reg < 0 || c.iterations < 0 || c.blocks < 1 || c.foldEpochs < 0 {
		return fitError("bpr", fmt.Errorf("factors %d, learning rate %v, regularization %v, epochs %d, blocks %d, fold-in epochs %d: %w",
			c.factors, c.lr, c.reg, c.iterations, c.blocks, c.foldEpochs, ErrInvalidOption))
	}
	pos := positives(&d.ui)
	if pos.NNZ() == 0 {
		return fitError("bpr", ErrNoInteractions)
	}
	nu, ni, k, nb := d.NumUsers(), d.NumItems(), c.factors, c.blocks
	rowOf := make([]int32, pos.NNZ())
	for u := range nu {
		for n := pos.Indptr[u]; n < pos.Indptr[u+1]; n++ {
			rowOf[n] = int32(u)
		}
	}
	rng := rand.New(rand.NewPCG(c.seed, bprStream))
	t := &bprTrain{
		cfg: c, pos: pos, k: k,
		x:    toFloat32(randomFactors(rng, nu, k, 0.1)),
		y:    toFloat32(randomFactors(rng, ni, k, 0.1)),
		bias: make([]float32, ni),
	}
	userBlock, itemBlock := make([]int32, nu), make([]int32, ni)
	t.blockItems = make([][]int32, nb)
	strata := make([][]int32, nb*nb)
	for epoch := range c.iterations {
		if err := ctx.Err(); err != nil {
			return fitError("bpr", err)
		}
		deal(rng, userBlock, nb)
		deal(rng, itemBlock, nb)
		for b := range t.blockItems {
			t.blockItems[b] = t.blockItems[b][:0]
		}
		for i, b := range itemBlock {
			t.blockItems[b] = append(t.blockItems[b], int32(i))
		}
		for s := range strata {
			strata[s] = strata[s][:0]
		}
		for n, i := range pos.Indices {
			s := userBlock[rowOf[n]]*int32(nb) + itemBlock[i]
			strata[s] = append(strata[s], int32(n))
		}
		for sub := range nb {
			err := parallelFor(ctx, nb, c.workers, 1, func(_, p, _ int) {
				ib := (p + sub) % nb
				srng := rand.New(rand.NewPCG(c.seed, uint64(epoch)<<32|uint64(sub)<<16|uint64(p)))
				t.stratum(ctx, srng, strata[p*nb+ib], rowOf, t.blockItems[ib])
			})
			if err != nil {
				return fitError("bpr", err)
			}
		}
		c.report(epoch+1, c.iterations)
	}
	m.f = (&factorModel{d: d, name: "bpr", k: k, user: t.x, item: t.y, bias: t.bias}).finish()
	return nil
}

// OnProgress makes Fit call fn(epochs done, epochs) after every epoch.
func (m *BPR) OnProgress(fn func(done, total int)) { m.cfg.progress = fn }

// positives is m without its non-positive entries.
func positives(m *CSR) *CSR {
	p := &CSR{Rows: m.Rows, Cols: m.Cols, Indptr: make([]int, 1, m.Rows+1)}
	for r := range m.Rows {
		idx, vals := m.Row(r)
		for n, v := range vals {
			if v > 0 {
				p.Indices = append(p.Indices, idx[n])
				p.Values = append(p.Values, v)
			}
		}
		p.Indptr = append(p.Indptr, len(p.Indices))
	}
	return p
}

// deal assigns the indices to nb blocks of (nearly) equal size at random.
func deal(rng *rand.Rand, block []int32, nb int) {
	perm := rng.Perm(len(block))
	for pos, i := range perm {
		block[i] = int32(pos % nb)
	}
}

type bprTrain struct {
	cfg        config
	pos        *CSR
	k          int
	x, y, bias []float32 // float32 halves the memory traffic SGD is bound by
	blockItems [][]int32
}

// stratum runs SGD over one stratum's positive entries. Entries come
// grouped by user (they are CSR positions, bucketed in order); users are
// visited in random order and each user's entries in random order, so
// that x_u and the user's row stay in cache across the user's updates:
// at 1M events the fit is bound by memory, not arithmetic.
func (t *bprTrain) stratum(ctx context.Context, rng *rand.Rand, entries, rowOf []int32, negatives []int32) {
	if len(entries) == 0 {
		return
	}
	var runs []int32 // start of each user's run in entries
	for n, e := range entries {
		if n == 0 || rowOf[e] != rowOf[entries[n-1]] {
			runs = append(runs, int32(n))
		}
	}
	order := make([]int32, len(runs))
	for r := range order {
		order[r] = int32(r)
	}
	rng.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
	k := t.k
	for done, r := range order {
		if done&1023 == 1023 && ctx.Err() != nil {
			return
		}
		lo, hi := int(runs[r]), len(entries)
		if int(r)+1 < len(runs) {
			hi = int(runs[r+1])
		}
		run := entries[lo:hi]
		rng.Shuffle(len(run), func(a, b int) { run[a], run[b] = run[b], run[a] })
		u := int(rowOf[run[0]])
		own, _ := t.pos.Row(u)
		xu := t.x[u*k : (u+1)*k]
		for _, e := range run {
			j, ok := sampleNegative(rng, negatives, own)
			if !ok {
				continue
			}
			t.step(xu, int(t.pos.Indices[e]), int(j))
		}
	}
}

// sampleNegative draws from candidates an item not in own (ascending),
// giving up after a few tries (a user owning most of the block).
func sampleNegative(rng *rand.Rand, candidates, own []int32) (int32, bool) {
	for range 16 {
		j := candidates[rng.IntN(len(candidates))]
		if _, found := slices.BinarySearch(own, j); !found {
			return j, true
		}
	}
	return 0, false
}

// step is one SGD update of x_u, y_i, y_j, b_i, b_j on the triple, in
// float32 with four independent dot accumulators (the loop is bound by
// loads, not by the adds' latency).
func (t *bprTrain) step(xu []float32, i, j int) {
	k := len(xu)
	lr, reg := float32(t.cfg.lr), float32(t.cfg.reg)
	yi := t.y[i*k : i*k+k : i*k+k]
	yj := t.y[j*k : j*k+k : j*k+k]
	var d0, d1, d2, d3 float32
	f := 0
	for ; f+4 <= k; f += 4 {
		d0 += xu[f] * (yi[f] - yj[f])
		d1 += xu[f+1] * (yi[f+1] - yj[f+1])
		d2 += xu[f+2] * (yi[f+2] - yj[f+2])
		d3 += xu[f+3] * (yi[f+3] - yj[f+3])
	}
	for ; f < k; f++ {
		d0 += xu[f] * (yi[f] - yj[f])
	}
	diff := float64(d0+d1+d2+d3) + float64(t.bias[i]-t.bias[j])
	g := float32(sigmoid(-diff)) // d/dx ln σ(x) = σ(−x)
	decay, lg := 1-lr*reg, lr*g
	for f := range xu {
		u, a, b := xu[f], yi[f], yj[f]
		xu[f] = decay*u + lg*(a-b)
		yi[f] = decay*a + lg*u
		yj[f] = decay*b - lg*u
	}
	t.bias[i] += lr * (g - reg*t.bias[i])
	t.bias[j] += lr * (-g - reg*t.bias[j])
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// ScoreUser implements Scorer.
func (m *BPR) ScoreUser(u int, dst []float64) { m.f.scoreUser(u, dst) }

// Recommend implements Scorer.
func (m *BPR) Recommend(userID string, k int, exclude map[string]bool) []ranking.Result {
	if m.f == nil {
		return nil
	}
	return m.f.recommend(userID, k, exclude)
}

// SimilarItems implements ItemSimilarity: cosine of item factors.
func (m *BPR) SimilarItems(itemID string, k int) []ranking.Result {
	if m.f == nil {
		return nil
	}
	return m.f.similarItems(itemID, k)
}

// Similarity is the cosine of two items' factors, 0 if either is unknown.
func (m *BPR) Similarity(a, b string) float64 {
	if m.f == nil {
		return 0
	}
	return m.f.similarity(a, b)
}

// UserFactors implements Factorizer: k factors and a trailing 1, matching
// ItemFactors' trailing bias, so the inner product is the score.
func (m *BPR) UserFactors() [][]float32 {
	if m.f == nil {
		return nil
	}
	return export(m.f.user, m.f.k, func(int) float32 { return 1 })
}

// ItemFactors implements Factorizer: k factors and the item bias.
func (m *BPR) ItemFactors() [][]float32 {
	if m.f == nil {
		return nil
	}
	return export(m.f.item, m.f.k, func(i int) float32 { return m.f.bias[i] })
}

// Dataset is the dataset the model was fitted on (nil before Fit).
func (m *BPR) Dataset() *Dataset {
	if m.f == nil {
		return nil
	}
	return m.f.d
}

// FoldIn implements FoldInner: SGD on the BPR objective for the new user's
// factor alone, item factors fixed, from zero, over the fold-in epochs,
// negatives uniform over the other items. It is seeded (by the model's
// seed), so the same events give the same vector. The vector has the
// trailing 1 of UserFactors. Values only select positives (> 0). It
// returns nil when no positive item is known, values do not match items,
// or the model is not fitted.
func (m *BPR) FoldIn(items []string, values []float64) []float32 {
	if m.f == nil {
		return nil
	}
	idx, vals, ok := foldInputs(m.f.d, items, values)
	if !ok {
		return nil
	}
	var own []int32
	for n, i := range idx {
		if vals[n] > 0 {
			own = append(own, i)
		}
	}
	ni := m.f.d.NumItems()
	if len(own) == 0 || len(own) == ni {
		return nil
	}
	f, c := m.f, m.cfg
	k := f.k
	x := make([]float64, k)
	order := slices.Clone(own)
	rng := rand.New(rand.NewPCG(c.seed, bprStream+1))
	for range c.foldEpochs {
		rng.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
		for _, i := range order {
			var j int32
			for {
				j = int32(rng.IntN(ni))
				if _, found := slices.BinarySearch(own, j); !found {
					break
				}
			}
			yi, yj := f.row(f.item, int(i)), f.row(f.item, int(j))
			diff := float64(f.bias[i] - f.bias[j])
			for n := range k {
				diff += x[n] * float64(yi[n]-yj[n])
			}
			g := sigmoid(-diff)
			for n := range k {
				x[n] += c.lr * (g*float64(yi[n]-yj[n]) - c.reg*x[n])
			}
		}
	}
	return toFloat32(x, 1)
}

// ScoreVector implements FoldInner; user has the trailing 1 of FoldIn.
func (m *BPR) ScoreVector(user []float32, dst []float64) { m.f.scoreVector(user, dst) }
