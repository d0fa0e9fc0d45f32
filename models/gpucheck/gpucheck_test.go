package gpucheck

import (
	"errors"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/internal/config"
	"github.com/vitrinehq/vitrine/internal/testenv"
)

// TestCheckModelPair runs gpu-check's measuring and comparing on two
// CPU encoders of each configured model, which is all a GPU-less machine
// can do: the vectors must agree exactly and every rate must be measured.
func TestCheckModelPair(t *testing.T) {
	rt := testenv.Runtime(t)
	root := testenv.Root(t)
	cfg := config.Default()
	env := Env{ModelDir: testenv.ModelDir(t), Logger: slog.New(slog.DiscardHandler)}
	text := filepath.Join(t.TempDir(), "lines.txt")
	if err := os.WriteFile(text, []byte("green apples\n\nwhole milk 1 l\nzzqx\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	o := Options{Items: 5, MinCosine: 0.999, Text: text, Images: filepath.Join(root, "demo", "grocery", "images")}
	eo := extractors.Options{MaxBatch: 32, Logger: slog.New(slog.DiscardHandler)}
	for _, name := range []string{cfg.Models.Text, cfg.Models.Image, cfg.Models.Audio} {
		t.Run(name, func(t *testing.T) {
			m := testenv.Manifest(t, name)
			other, err := extractors.Open(t.Context(), rt, m, env.ModelDir, eo)
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			row := CheckModel(t.Context(), env, o, m, rt, other, eo)
			if row.Err != nil {
				t.Fatalf("%v (inputs: %s)", row.Err, row.Inputs)
			}
			if row.N != o.Items {
				t.Errorf("%d inputs, want %d", row.N, o.Items)
			}
			if row.CosMin < 0.99999 || row.CosMean > 1+1e-9 {
				t.Errorf("cosine min %v mean %v on identical providers", row.CosMin, row.CosMean)
			}
			for _, k := range []string{"cpu/1", "cuda/1", "cpu/32", "cuda/32"} {
				if v := row.PerSec[k]; !(v > 0) {
					t.Errorf("rate %s = %v", k, v)
				}
			}
			if !row.Compared || row.M.Key() != m.Key() {
				t.Errorf("row %+v", row)
			}
		})
	}
}

// TestCompareRuns covers the agreement rules without any model.
func TestCompareRuns(t *testing.T) {
	refused := errors.New("no known tokens")
	nan := float32(math.NaN())
	tests := []struct {
		name     string
		cpu, gpu Run
		wantCos  []float64
		wantErr  string
	}{
		{
			name:    "same and scaled vectors",
			cpu:     Run{Vecs: [][]float32{{1, 0}, {3, 4}}, Errs: make([]error, 2)},
			gpu:     Run{Vecs: [][]float32{{1, 0}, {6, 8}}, Errs: make([]error, 2)},
			wantCos: []float64{1, 1},
		},
		{
			name:    "orthogonal",
			cpu:     Run{Vecs: [][]float32{{1, 0}}, Errs: make([]error, 1)},
			gpu:     Run{Vecs: [][]float32{{0, 1}}, Errs: make([]error, 1)},
			wantCos: []float64{0},
		},
		{
			name:    "refused on both is left out",
			cpu:     Run{Vecs: [][]float32{nil, {1, 1}}, Errs: []error{refused, nil}},
			gpu:     Run{Vecs: [][]float32{nil, {1, 1}}, Errs: []error{refused, nil}},
			wantCos: []float64{1},
		},
		{
			name:    "refused on cuda only",
			cpu:     Run{Vecs: [][]float32{{1, 1}}, Errs: []error{nil}},
			gpu:     Run{Vecs: [][]float32{nil}, Errs: []error{refused}},
			wantErr: "input 0: cuda refused it",
		},
		{
			name:    "refused on cpu only",
			cpu:     Run{Vecs: [][]float32{nil}, Errs: []error{refused}},
			gpu:     Run{Vecs: [][]float32{{1, 1}}, Errs: []error{nil}},
			wantErr: "input 0: cpu refused it",
		},
		{
			name:    "NaN from cuda",
			cpu:     Run{Vecs: [][]float32{{1, 1}}, Errs: []error{nil}},
			gpu:     Run{Vecs: [][]float32{{nan, 1}}, Errs: []error{nil}},
			wantErr: "NaN",
		},
		{
			name:    "dimension mismatch",
			cpu:     Run{Vecs: [][]float32{{1, 1}}, Errs: []error{nil}},
			gpu:     Run{Vecs: [][]float32{{1, 1, 1}}, Errs: []error{nil}},
			wantErr: "2 and 3 dimensions",
		},
		{
			name:    "zero vector",
			cpu:     Run{Vecs: [][]float32{{1, 1}}, Errs: []error{nil}},
			gpu:     Run{Vecs: [][]float32{{0, 0}}, Errs: []error{nil}},
			wantErr: "zero vector",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CompareRuns(tt.cpu, tt.gpu)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.wantCos) {
				t.Fatalf("cosines %v, want %v", got, tt.wantCos)
			}
			for i := range got {
				if math.Abs(got[i]-tt.wantCos[i]) > 1e-12 {
					t.Errorf("cosine %d = %v, want %v", i, got[i], tt.wantCos[i])
				}
			}
		})
	}
}

// TestMissingORTPieces names the library and both provider libraries of
// an empty directory.
func TestMissingORTPieces(t *testing.T) {
	got := MissingORTPieces(filepath.Join(t.TempDir(), "libonnxruntime.so.1"))
	if len(got) != 3 || !strings.Contains(got[0], "CUDA build") || !strings.Contains(got[2], "providers_cuda") {
		t.Errorf("missing %v", got)
	}
}
