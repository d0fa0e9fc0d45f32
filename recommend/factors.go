package recommend

import (
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"

	"github.com/vitrinehq/vitrine/ranking"
)

// factorModel is the fitted state shared by ALS and BPR: row-major user
// and item factors and an optional item bias, in float32 (what pgvector
// stores, and scoring a 20k-item catalogue reads half the memory), plus
// the item norms for cosine similarity.
type factorModel struct {
	d     *Dataset
	name  string
	k     int
	user  []float32 // NumUsers × k
	item  []float32 // NumItems × k
	bias  []float32 // NumItems, or nil
	inorm []float64 // |item_i|
	buf   *scratch
}

func (f *factorModel) finish() *factorModel {
	n := f.d.NumItems()
	f.inorm = make([]float64, n)
	for i := range n {
		f.inorm[i] = math.Sqrt(float64(blas32.Dot(f.vec(f.item, i), f.vec(f.item, i))))
	}
	f.buf = &scratch{}
	return f
}

func (f *factorModel) row(m []float32, r int) []float32 { return m[r*f.k : (r+1)*f.k] }

func (f *factorModel) vec(m []float32, r int) blas32.Vector {
	return blas32.Vector{N: f.k, Inc: 1, Data: f.row(m, r)}
}

// scoreVec writes dst = Y·x (+ bias·b).
func (f *factorModel) scoreVec(x []float32, b float32, dst []float64) {
	n := f.d.NumItems()
	if len(dst) != n {
		panic("recommend: ScoreUser dst length is not NumItems")
	}
	s := f.buf.get32(n)
	defer f.buf.put32(s)
	blas32.Gemv(blas.NoTrans, 1,
		blas32.General{Rows: n, Cols: f.k, Stride: f.k, Data: f.item},
		blas32.Vector{N: f.k, Inc: 1, Data: x}, 0,
		blas32.Vector{N: n, Inc: 1, Data: s})
	if f.bias != nil && b != 0 {
		for i, v := range s {
			dst[i] = float64(v) + float64(b*f.bias[i])
		}
		return
	}
	for i, v := range s {
		dst[i] = float64(v)
	}
}

func (f *factorModel) scoreUser(u int, dst []float64) { f.scoreVec(f.row(f.user, u), 1, dst) }

// scoreVector is ScoreVector: v has k entries, plus the bias weight (1)
// when the model has a bias.
func (f *factorModel) scoreVector(v []float32, dst []float64) {
	want := f.k
	if f.bias != nil {
		want++
	}
	if len(v) != want {
		panic("recommend: ScoreVector user vector has the wrong length")
	}
	var b float32
	if f.bias != nil {
		b = v[f.k]
	}
	f.scoreVec(v[:f.k], b, dst)
}

func (f *factorModel) recommend(userID string, k int, exclude map[string]bool) []ranking.Result {
	u, ok := f.d.UserIndex(userID)
	if !ok {
		return nil
	}
	s := f.buf.get(f.d.NumItems())
	defer f.buf.put(s)
	f.scoreUser(u, s)
	return results(f.d, f.name, s, u, k, exclude)
}

// similarItems ranks items by cosine of their factors (biases left out:
// they say how popular an item is, not what it is like).
func (f *factorModel) similarItems(itemID string, k int) []ranking.Result {
	i, ok := f.d.ItemIndex(itemID)
	if !ok || f.inorm[i] == 0 {
		return nil
	}
	n := f.d.NumItems()
	dots := f.buf.get32(n)
	defer f.buf.put32(dots)
	blas32.Gemv(blas.NoTrans, 1,
		blas32.General{Rows: n, Cols: f.k, Stride: f.k, Data: f.item},
		f.vec(f.item, i), 0,
		blas32.Vector{N: n, Inc: 1, Data: dots})
	s := f.buf.get(n)
	defer f.buf.put(s)
	for j, d := range dots {
		if f.inorm[j] == 0 {
			s[j] = math.Inf(-1)
			continue
		}
		s[j] = float64(d) / (f.inorm[i] * f.inorm[j])
	}
	s[i] = math.Inf(-1)
	return similar(f.d, f.name+"-cosine", s, k)
}

// similarity is the cosine of two items' factors (0 if unknown).
func (f *factorModel) similarity(a, b string) float64 {
	i, ok1 := f.d.ItemIndex(a)
	j, ok2 := f.d.ItemIndex(b)
	if !ok1 || !ok2 || f.inorm[i] == 0 || f.inorm[j] == 0 {
		return 0
	}
	return float64(blas32.Dot(f.vec(f.item, i), f.vec(f.item, j))) / (f.inorm[i] * f.inorm[j])
}

// export copies factors to rows, with an extra trailing column (extra !=
// nil: its value per row) so that biased scores are plain inner products
// in pgvector.
func export(m []float32, k int, extra func(r int) float32) [][]float32 {
	rows := len(m) / k
	w := k
	if extra != nil {
		w++
	}
	flat := make([]float32, rows*w)
	out := make([][]float32, rows)
	for r := range rows {
		v := flat[r*w : (r+1)*w : (r+1)*w]
		copy(v, m[r*k:(r+1)*k])
		if extra != nil {
			v[k] = extra(r)
		}
		out[r] = v
	}
	return out
}

func toFloat32(x []float64, extra ...float64) []float32 {
	out := make([]float32, 0, len(x)+len(extra))
	for _, v := range x {
		out = append(out, float32(v))
	}
	for _, v := range extra {
		out = append(out, float32(v))
	}
	return out
}

// randomFactors fills n×k values from N(0, sd²).
func randomFactors(rng *rand.Rand, n, k int, sd float64) []float64 {
	m := make([]float64, n*k)
	for i := range m {
		m[i] = rng.NormFloat64() * sd
	}
	return m
}
