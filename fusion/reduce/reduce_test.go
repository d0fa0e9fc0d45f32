package reduce

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/vitrinehq/vitrine/vecmath"
)

// planted makes n unit vectors of d dimensions that lie, up to noise, in a
// random k-dimensional subspace around an offset; it returns them with an
// orthonormal basis of the subspace.
func planted(r *rand.Rand, n, d, k int, noise float64) ([][]float32, [][]float64) {
	basis := make([][]float64, k)
	for i := range basis {
		v := make([]float64, d)
		for j := range v {
			v[j] = r.NormFloat64()
		}
		for _, b := range basis[:i] { // Gram-Schmidt
			var dot float64
			for j := range v {
				dot += v[j] * b[j]
			}
			for j := range v {
				v[j] -= dot * b[j]
			}
		}
		var n float64
		for _, x := range v {
			n += x * x
		}
		for j := range v {
			v[j] /= math.Sqrt(n)
		}
		basis[i] = v
	}
	out := make([][]float32, n)
	for i := range out {
		v := make([]float32, d)
		for c, b := range basis {
			w := r.NormFloat64() * float64(k-c) // decreasing variance per direction
			for j := range v {
				v[j] += float32(w * b[j])
			}
		}
		for j := range v {
			v[j] += float32(noise * r.NormFloat64())
		}
		out[i] = v
	}
	return out, basis
}

func TestFitRecoversPlantedSubspace(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const n, d, k = 2000, 64, 8
	sample, basis := planted(r, n, d, k, 0.01)
	p, err := Fit(sample, k)
	if err != nil {
		t.Fatal(err)
	}
	if p.Dim() != k || !p.Finite() || p.Explained < 0.99 {
		t.Fatalf("dim %d, explained %.4f, finite %v", p.Dim(), p.Explained, p.Finite())
	}
	// Every planted direction lies in the span of the components.
	for i, b := range basis {
		var inSpan float64
		for _, c := range p.Components {
			var dot float64
			for j := range b {
				dot += b[j] * float64(c[j])
			}
			inSpan += dot * dot
		}
		if inSpan < 0.99 {
			t.Errorf("planted direction %d: %.4f of it in the components' span", i, inSpan)
		}
	}
	// Components are unit length, strongest first.
	for i, c := range p.Components {
		if n := vecmath.Norm(c); math.Abs(n-1) > 1e-4 {
			t.Errorf("component %d has norm %f", i, n)
		}
	}
}

// TestProjectionKeepsNeighbours: nearest neighbours by cosine among the
// projected planted vectors are those among the full ones.
func TestProjectionKeepsNeighbours(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const n, d, k, queries, depth = 1500, 96, 12, 50, 10
	data, _ := planted(r, n, d, k, 0.02)
	p, err := Fit(data[:1000], k)
	if err != nil {
		t.Fatal(err)
	}
	proj := make([][]float32, n)
	for i, v := range data {
		if proj[i], err = p.Project(v); err != nil {
			t.Fatal(err)
		}
		if math.Abs(vecmath.Norm(proj[i])-1) > 1e-4 {
			t.Fatalf("projection %d is not unit length", i)
		}
	}
	var hit int
	for q := range queries {
		want, got := topK(data, data[q], depth), topK(proj, proj[q], depth)
		for _, id := range got {
			if slices.Contains(want, id) {
				hit++
			}
		}
	}
	if recall := float64(hit) / (queries * depth); recall < 0.9 {
		t.Errorf("recall@10 of the projection against the full vectors: %.3f", recall)
	}
}

// topK is the indexes of the k vectors most cosine-similar to q.
func topK(vs [][]float32, q []float32, k int) []int {
	ids := make([]int, len(vs))
	sims := make([]float64, len(vs))
	for i, v := range vs {
		ids[i] = i
		sims[i], _ = vecmath.Cosine(v, q)
	}
	slices.SortFunc(ids, func(a, b int) int {
		switch {
		case sims[a] > sims[b]:
			return -1
		case sims[a] < sims[b]:
			return 1
		}
		return a - b
	})
	return ids[:k]
}

func TestFitErrors(t *testing.T) {
	two := [][]float32{{1, 0, 0}, {0, 1, 0}}
	for _, c := range []struct {
		name   string
		sample [][]float32
		k      int
	}{
		{"one vector", two[:1], 1},
		{"no components", two, 0},
		{"more components than dimensions", two, 4},
		{"ragged sample", [][]float32{{1, 0, 0}, {0, 1}}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := Fit(c.sample, c.k); !errors.Is(err, ErrBadFit) {
				t.Errorf("error %v, want ErrBadFit", err)
			}
		})
	}
}

func TestProjectAndTruncate(t *testing.T) {
	p, err := Fit([][]float32{{1, 0, 0}, {-1, 0, 0}, {0, 0.1, 0}, {0, -0.1, 0}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Project([]float32{1, 0}); !errors.Is(err, vecmath.ErrLengthMismatch) {
		t.Errorf("projecting a 2-d vector: %v", err)
	}
	// The fit survives JSON, as it is stored with a space.
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back PCA
	if err := json.Unmarshal(b, &back); err != nil || back.Dim() != 1 {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
	v, err := back.Project([]float32{3, 0.5, 0})
	if err != nil || len(v) != 1 || math.Abs(math.Abs(float64(v[0]))-1) > 1e-6 {
		t.Errorf("projection onto the x axis: %v, %v", v, err)
	}
	for _, c := range []struct {
		v    []float32
		k    int
		want []float32
		err  bool
	}{
		{[]float32{3, 4, 12}, 2, []float32{0.6, 0.8}, false},
		{[]float32{3, 4, 12}, 3, []float32{3. / 13, 4. / 13, 12. / 13}, false},
		{[]float32{3, 4}, 3, nil, true},
		{[]float32{3, 4}, 0, nil, true},
	} {
		got, err := Truncate(c.v, c.k)
		if (err != nil) != c.err || len(got) != len(c.want) {
			t.Errorf("Truncate(%v, %d) = %v, %v", c.v, c.k, got, err)
			continue
		}
		for i := range got {
			if math.Abs(float64(got[i]-c.want[i])) > 1e-6 {
				t.Errorf("Truncate(%v, %d) = %v, want %v", c.v, c.k, got, c.want)
			}
		}
	}
}

// TestRecall: on planted vectors the projection onto the planted subspace
// keeps nearly every neighbour; with one direction of twelve it loses
// most; and the arguments are checked.
func TestRecall(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	data, _ := planted(r, 600, 48, 12, 0.02)
	for i := range data {
		vecmath.Normalize(data[i])
	}
	for _, c := range []struct {
		k        int
		min, max float64
	}{{12, 0.9, 1}, {1, 0, 0.5}} {
		p, err := Fit(data, c.k)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Recall(data, p, 50, 10)
		if err != nil || got < c.min || got > c.max {
			t.Errorf("%d components: recall@10 %.3f (%v), want in [%.1f, %.1f]", c.k, got, err, c.min, c.max)
		}
	}
	p, _ := Fit(data, 4)
	for _, c := range []struct {
		name       string
		sample     [][]float32
		queries, k int
	}{{"k of zero", data, 10, 0}, {"sample no bigger than k", data[:10], 10, 10}, {"no queries", data, 0, 10}} {
		if _, err := Recall(c.sample, p, c.queries, c.k); !errors.Is(err, ErrBadFit) {
			t.Errorf("%s: %v, want ErrBadFit", c.name, err)
		}
	}
}

// TestProjectUncentredIsUncentred: a query is projected as normalise(W q),
// without taking the mean off, unlike a product.
func TestProjectUncentredIsUncentred(t *testing.T) {
	sample := [][]float32{{1, 5, 0.1}, {-1, 5, -0.1}, {0.5, 4, 0.05}, {-0.5, 6, 0}}
	p, err := Fit(sample, 2)
	if err != nil {
		t.Fatal(err)
	}
	q := []float32{1, 0, 0}
	got, err := p.ProjectUncentred(q)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float32, 2)
	for c, w := range p.Components {
		d, _ := vecmath.Dot(w, q)
		want[c] = float32(d)
	}
	vecmath.Normalize(want)
	for c := range want {
		if math.Abs(float64(got[c]-want[c])) > 1e-6 {
			t.Fatalf("ProjectUncentred = %v, want normalise(W q) = %v", got, want)
		}
	}
	if centred, _ := p.Project(q); slices.Equal(centred, got) {
		t.Errorf("centred and uncentred projections agree (%v): the mean was not taken off", got)
	}
	if _, err := p.ProjectUncentred([]float32{1}); !errors.Is(err, vecmath.ErrLengthMismatch) {
		t.Errorf("a 1-d query: %v", err)
	}
}

// TestPCAJSON: a fit survives its stored form bit for bit, and stored forms
// that cannot be a fit are refused.
func TestPCAJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	data, _ := planted(r, 100, 20, 5, 0.1)
	p, err := Fit(data, 5)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back PCA
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.Mean, p.Mean) || back.Explained != p.Explained || len(back.Components) != 5 {
		t.Fatalf("round trip changed the fit: %+v", back)
	}
	for c := range p.Components {
		if !slices.Equal(back.Components[c], p.Components[c]) {
			t.Fatalf("component %d changed", c)
		}
	}
	if _, err := json.Marshal(PCA{Mean: []float32{1, 2}, Components: [][]float32{{1}}}); !errors.Is(err, ErrBadFit) {
		t.Errorf("encoding a ragged fit: %v", err)
	}
	for _, c := range []struct{ name, stored string }{
		{"no dimension", `{"dim":0,"mean":"","components":""}`},
		{"short mean", `{"dim":2,"mean":"AAAAAA==","components":""}`},
		{"partial component", `{"dim":1,"mean":"AAAAAA==","components":"AAAAAAAA"}`},
	} {
		var q PCA
		if err := json.Unmarshal([]byte(c.stored), &q); !errors.Is(err, ErrBadFit) {
			t.Errorf("%s: %v, want ErrBadFit", c.name, err)
		}
	}
}
