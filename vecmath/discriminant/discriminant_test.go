package discriminant

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vitrinehq/vitrine/vecmath"
)

// blobs returns n examples of each class in dim dimensions: class c is
// centred at sep × a random unit vector of axes 1 to dim−1 (the same for
// every seed), and every example varies by spread along axis 0 (the
// nuisance) and by 0.1 along the others.
func blobs(classes, n, dim int, sep, spread float64, seed uint64) ([][]float32, []string) {
	centres := rand.New(rand.NewPCG(42, 42))
	r := rand.New(rand.NewPCG(seed, 1))
	var vs [][]float32
	var ls []string
	for c := range classes {
		centre := make([]float32, dim)
		for j := 1; j < dim; j++ {
			centre[j] = float32(centres.NormFloat64())
		}
		vecmath.Normalize(centre)
		for range n {
			v := make([]float32, dim)
			for j := range v {
				v[j] = float32(sep)*centre[j] + float32(0.1*r.NormFloat64())
			}
			v[0] = float32(spread * r.NormFloat64())
			vs = append(vs, v)
			ls = append(ls, string(rune('a'+c)))
		}
	}
	return vs, ls
}

func TestFitErrors(t *testing.T) {
	one, oneL := blobs(1, 5, 4, 1, 1, 1)
	single, singleL := blobs(3, 1, 4, 1, 1, 1)
	two, twoL := blobs(2, 3, 4, 1, 1, 1)
	tests := []struct {
		name   string
		vs     [][]float32
		labels []string
		opts   []Option
		want   error // nil: any error
	}{
		{"one class", one, oneL, nil, ErrTooFew},
		{"one example a class", single, singleL, nil, ErrTooFew},
		{"no examples", nil, nil, nil, ErrTooFew},
		{"labels short", two, twoL[:2], nil, nil},
		{"shrinkage above 1", two, twoL, []Option{WithShrinkage(1.5)}, nil},
		{"shrinkage negative", two, twoL, []Option{WithShrinkage(-0.1)}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Fit(tc.vs, tc.labels, tc.opts...)
			if err == nil {
				t.Fatal("Fit succeeded")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// nearestClassAccuracy is how often a query's nearest example (by cosine
// after prep) has its label.
func nearestClassAccuracy(t *testing.T, vs [][]float32, ls []string, qs [][]float32, ql []string, prep func([]float32) []float32) float64 {
	t.Helper()
	pv := make([][]float32, len(vs))
	for i, v := range vs {
		pv[i] = prep(v)
	}
	ok := 0
	for i, q := range qs {
		pq := prep(q)
		best, label := math.Inf(-1), ""
		for j, v := range pv {
			s, err := vecmath.Cosine(pq, v)
			if err != nil {
				t.Fatal(err)
			}
			if s > best {
				best, label = s, ls[j]
			}
		}
		if label == ql[i] {
			ok++
		}
	}
	return float64(ok) / float64(len(qs))
}

func TestProjectionSeparatesClasses(t *testing.T) {
	vs, ls := blobs(8, 6, 16, 1, 10, 1)
	qs, ql := blobs(8, 20, 16, 1, 10, 2)
	raw := nearestClassAccuracy(t, vs, ls, qs, ql, func(v []float32) []float32 { return v })
	for _, disc := range []bool{false, true} {
		p, err := Fit(vs, ls, WithDiscriminant(disc), WithShrinkage(0.01))
		if err != nil {
			t.Fatal(err)
		}
		got := nearestClassAccuracy(t, vs, ls, qs, ql, p.Apply)
		t.Logf("discriminant %v: accuracy %.3f (raw %.3f), %d dimensions", disc, got, raw, p.Dim())
		if got < raw+0.1 || got < 0.95 {
			t.Errorf("discriminant %v: accuracy %.3f, raw %.3f: the nuisance axis still decides", disc, got, raw)
		}
		if want := map[bool]int{false: 16, true: 7}[disc]; p.Dim() != want || p.InputDim() != 16 || p.Classes != 8 || p.Discriminant != disc {
			t.Errorf("discriminant %v: Dim %d InputDim %d Classes %d Discriminant %v, want %d, 16, 8, %v", disc, p.Dim(), p.InputDim(), p.Classes, p.Discriminant, want, disc)
		}
	}
}

func TestWhitenedWithinClassVarianceIsOne(t *testing.T) {
	vs, ls := blobs(3, 400, 4, 1, 3, 3)
	p, err := Fit(vs, ls, WithShrinkage(0))
	if err != nil {
		t.Fatal(err)
	}
	// The projected examples of class "a" around their mean: unit
	// variance along every output axis, the nuisance axis included.
	var rows [][]float32
	for i, v := range vs {
		if ls[i] == "a" {
			rows = append(rows, p.Apply(v))
		}
	}
	for j := range p.Dim() {
		var mean, sq float64
		for _, r := range rows {
			mean += float64(r[j])
		}
		mean /= float64(len(rows))
		for _, r := range rows {
			sq += (float64(r[j]) - mean) * (float64(r[j]) - mean)
		}
		if v := sq / float64(len(rows)); math.Abs(v-1) > 0.25 {
			t.Errorf("axis %d: within-class variance %.3f, want about 1", j, v)
		}
	}
}

func TestApplyAllMatchesApply(t *testing.T) {
	vs, ls := blobs(3, applyChunk, 6, 1, 2, 4) // more than one chunk
	vs = append(vs, []float32{1, 2})           // another dimension
	ls = append(ls, "z")
	p, err := Fit(vs, ls, WithDiscriminant(true), WithMaxExamples(200))
	if err != nil {
		t.Fatal(err)
	}
	all := p.ApplyAll(vs)
	for i, v := range vs {
		one := p.Apply(v)
		if (one == nil) != (all[i] == nil) || len(one) != len(all[i]) {
			t.Fatalf("vector %d: Apply %v, ApplyAll %v", i, one, all[i])
		}
		for j := range one {
			if math.Abs(float64(one[j]-all[i][j])) > 1e-4 {
				t.Fatalf("vector %d axis %d: Apply %g, ApplyAll %g", i, j, one[j], all[i][j])
			}
		}
	}
	if all[len(all)-1] != nil {
		t.Error("a vector of another dimension was projected")
	}
}

func TestMaxExamplesKeepsEveryClass(t *testing.T) {
	vs, ls := blobs(5, 100, 4, 1, 1, 5)
	groups := group(vs, ls, 50)
	if len(groups) != 5 {
		t.Fatalf("%d classes kept, want 5", len(groups))
	}
	n := 0
	for _, g := range groups {
		if len(g) < 2 {
			t.Errorf("a class kept %d examples, want at least 2", len(g))
		}
		n += len(g)
	}
	if n > 55 {
		t.Errorf("%d examples kept, want about 50", n)
	}
}

// BenchmarkFit fits the shapes of the demo catalog with the training
// photos as views (81 products, 2,800 views of 1,280 dimensions: the fit
// photo search does when it loads them), then projects every view.
func BenchmarkFit(b *testing.B) {
	vs, ls := blobs(81, 35, 1280, 1, 1, 7)
	for _, disc := range []bool{false, true} {
		name := map[bool]string{false: "whitened", true: "discriminant"}[disc]
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				p, err := Fit(vs, ls, WithDiscriminant(disc))
				if err != nil {
					b.Fatal(err)
				}
				p.ApplyAll(vs)
			}
		})
	}
}
