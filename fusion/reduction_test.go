package fusion_test

import (
	"encoding/hex"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/vitrinehq/vitrine/fusion"
	"github.com/vitrinehq/vitrine/fusion/reduce"
	"github.com/vitrinehq/vitrine/vecmath"
)

// fitted is concat reduced to k dimensions by a PCA fitted on n products
// fused at full dimension; it returns the products' embeddings too.
func fitted(t *testing.T, k, n int) (fusion.Spec, []map[string][]float32) {
	t.Helper()
	r := rand.New(rand.NewPCG(9, 10))
	products := make([]map[string][]float32, n)
	sample := make([][]float32, n)
	for i := range products {
		products[i] = map[string][]float32{"text@1": randVec(r, 5), "image@1": randVec(r, 7), "audio@1": randVec(r, 3)}
		var err error
		if sample[i], err = concat.Fuse(products[i]); err != nil {
			t.Fatal(err)
		}
	}
	p, err := reduce.Fit(sample, k)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := concat.Reduced(k).WithFit(p, n, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	return spec, products
}

// An unreduced spec encodes, and so hashes, exactly as before reductions
// existed: the vectors of existing spaces stay up to date.
func TestUnreducedSpecUnchanged(t *testing.T) {
	const want = `{"strategy":"weighted_concat","components":[{"model":"text@1","modality":"text","dim":5,"weight":0.3},{"model":"image@1","modality":"image","dim":7,"weight":0.5},{"model":"audio@1","modality":"audio","dim":3,"weight":0.2}]}`
	if got := string(concat.JSON()); got != want {
		t.Errorf("JSON = %s\nwant %s", got, want)
	}
	h := concat.SourceHash(map[string][]byte{"text@1": {1}, "image@1": {2}})
	if got := hex.EncodeToString(h); got != "2f0721128053625856db5875d62d194664cf21e975ac3ece81d08d0972a1a443" {
		t.Errorf("SourceHash = %s", got)
	}
	if r := concat.Reduced(0); r.Reduce != nil || string(r.JSON()) != want {
		t.Errorf("Reduced(0) = %s", r.JSON())
	}
}

// A fitted spec fuses products and queries to unit vectors of the reduced
// dimension, projected uncentred; Explain gives one true part.
func TestReducedFuseQueryExplain(t *testing.T) {
	spec, products := fitted(t, 6, 200)
	if spec.Dim() != 6 || spec.FullDim() != 15 || !spec.Fitted() {
		t.Fatalf("Dim %d FullDim %d Fitted %v", spec.Dim(), spec.FullDim(), spec.Fitted())
	}
	for _, c := range []struct {
		name  string
		fuse  func(map[string][]float32) ([]float32, error)
		wantF func([]float32) ([]float32, error)
		vecs  map[string][]float32
	}{
		{"product", spec.Fuse, spec.Reduce.PCA.ProjectUncentred, products[0]},
		{"product without audio", spec.Fuse, spec.Reduce.PCA.ProjectUncentred, map[string][]float32{"text@1": products[1]["text@1"], "image@1": products[1]["image@1"]}},
		{"text query", spec.Query, spec.Reduce.PCA.ProjectUncentred, map[string][]float32{"text@1": products[2]["text@1"]}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.fuse(c.vecs)
			if err != nil {
				t.Fatal(err)
			}
			full, _ := concat.Fuse(c.vecs)
			want, _ := c.wantF(full)
			if len(got) != 6 || math.Abs(vecmath.Norm(got)-1) > 1e-5 {
				t.Fatalf("%d dimensions, norm %f", len(got), vecmath.Norm(got))
			}
			for j := range want {
				if math.Abs(float64(got[j]-want[j])) > 1e-6 {
					t.Fatalf("got %v, want the projection of the full vector %v", got, want)
				}
			}
		})
	}
	a, _ := spec.Fuse(products[3])
	b, _ := spec.Fuse(products[4])
	parts := spec.Explain(a, b)
	if len(parts) != 1 || parts[0].Modality != fusion.Reduced || math.Abs(parts[0].Score-cosine(t, a, b)) > 1e-6 {
		t.Errorf("Explain = %+v, want one reduced part of cosine %f", parts, cosine(t, a, b))
	}
	if spec.Explain(a, make([]float32, 15)) != nil {
		t.Error("Explain of a full-dimension vector in a reduced space")
	}
}

func TestReducedNotFitted(t *testing.T) {
	spec := concat.Reduced(4)
	if spec.Dim() != 4 || spec.Fitted() {
		t.Fatalf("Dim %d Fitted %v", spec.Dim(), spec.Fitted())
	}
	vecs := map[string][]float32{"text@1": {1, 0, 0, 0, 0}}
	if _, err := spec.Fuse(vecs); !errors.Is(err, fusion.ErrNotFitted) {
		t.Errorf("Fuse: %v, want ErrNotFitted", err)
	}
	if _, err := spec.Query(vecs); !errors.Is(err, fusion.ErrNotFitted) {
		t.Errorf("Query: %v, want ErrNotFitted", err)
	}
	if _, err := concat.WithFit(&reduce.PCA{}, 1, 0); !errors.Is(err, fusion.ErrInvalidSpec) {
		t.Errorf("fit of an unreduced spec: %v", err)
	}
}

func TestReducedValidate(t *testing.T) {
	spec, _ := fitted(t, 4, 50)
	short := *spec.Reduce.PCA
	short.Components = short.Components[:3]
	for _, c := range []struct {
		name string
		r    *fusion.Reduction
		ok   bool
	}{
		{"unfitted", &fusion.Reduction{Method: fusion.MethodPCA, Dim: 14}, true},
		{"fitted", spec.Reduce, true},
		{"as many dimensions as the full vectors", &fusion.Reduction{Method: fusion.MethodPCA, Dim: 15}, false},
		{"no dimensions", &fusion.Reduction{Method: fusion.MethodPCA}, false},
		{"unknown method", &fusion.Reduction{Method: "svd", Dim: 4}, false},
		{"fit of another dimension", &fusion.Reduction{Method: fusion.MethodPCA, Dim: 4, PCA: &short}, false},
		{"fit of other vectors", &fusion.Reduction{Method: fusion.MethodPCA, Dim: 4, PCA: &reduce.PCA{Mean: make([]float32, 3), Components: make([][]float32, 4)}}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := concat
			s.Reduce = c.r
			err := s.Validate()
			if (err == nil) != c.ok || (err != nil && !errors.Is(err, fusion.ErrInvalidSpec)) {
				t.Errorf("err %v, want ok=%v", err, c.ok)
			}
		})
	}
}

// Stored and read back as PostgreSQL would, a fitted spec is the same
// space as the configured (unfitted) spec of its dimension and no other;
// its source hash covers the fit without hashing the matrix.
func TestReducedSameAsAndSourceHash(t *testing.T) {
	spec, _ := fitted(t, 4, 50)
	stored := spec.JSON()
	back, err := fusion.ParseSpec(stored)
	if err != nil || !back.Fitted() {
		t.Fatalf("round trip: %v", err)
	}
	for _, c := range []struct {
		name string
		spec fusion.Spec
		same bool
	}{
		{"fitted", spec, true},
		{"configured", concat.Reduced(4), true},
		{"other dimension", concat.Reduced(5), false},
		{"unreduced", concat, false},
		{"other weights", spec.WithWeights(map[string]float64{"text@1": 0.9}), false},
	} {
		if got := c.spec.SameAs(stored); got != c.same {
			t.Errorf("%s: SameAs = %v", c.name, got)
		}
	}
	in := map[string][]byte{"text@1": {1}}
	other, _ := fitted(t, 4, 60)
	if string(spec.SourceHash(in)) != string(back.SourceHash(in)) {
		t.Error("the stored fit hashes differently")
	}
	if string(spec.SourceHash(in)) == string(other.SourceHash(in)) || string(spec.SourceHash(in)) == string(concat.SourceHash(in)) {
		t.Error("the source hash ignores the fit")
	}
	if w := spec.WithWeights(map[string]float64{"text@1": 0.9}); w.Fitted() || w.Dim() != 4 {
		t.Errorf("new weights keep the old fit: fitted %v, dim %d", w.Fitted(), w.Dim())
	}
	if strings.Contains(string(concat.Reduced(4).JSON()), "pca\":") {
		t.Errorf("an unfitted spec stores a projection: %s", concat.Reduced(4).JSON())
	}
}

func TestDescribe(t *testing.T) {
	spec, _ := fitted(t, 4, 50)
	long := strings.Repeat("x", 300)
	for _, c := range []struct{ name, raw, want string }{
		{"full", string(concat.JSON()), "weighted_concat text@1=0.30 image@1=0.50 audio@1=0.20"},
		{"reduced, its fit left out", string(spec.JSON()), "weighted_concat text@1=0.30 image@1=0.50 audio@1=0.20 pca to 4"},
		{"not a spec", "not json", "not json"},
		{"long and not a spec", long, long[:200] + "…"},
	} {
		if got := fusion.Describe([]byte(c.raw)); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
