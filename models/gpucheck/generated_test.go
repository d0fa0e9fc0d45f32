package gpucheck

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/extractors/onnx"
	"github.com/vitrinehq/vitrine/internal/onnxgen"
	"github.com/vitrinehq/vitrine/internal/testenv"
)

// TestGeneratedCPUPath runs the generated models' part of a check as far
// as a machine without a GPU can: the presets (MiniLM and ViT-B/16, at test
// scale) are installed as Check installs them and measured and compared
// by CheckModel on two CPU encoders, which must agree exactly.
func TestGeneratedCPUPath(t *testing.T) {
	presets := GeneratedPresets()
	if len(presets) != 2 || presets[0].Name != "minilm" || presets[1].Name != "vit-b16" {
		t.Fatalf("generated presets %v, want minilm and vit-b16", presets)
	}
	for i := range presets {
		presets[i] = presets[i].Tiny()
	}
	modelDir := t.TempDir()
	targets, err := InstallGenerated(t.Context(), modelDir, presets)
	if err != nil {
		t.Fatal(err)
	}
	rt := testenv.Runtime(t)
	o := Options{Items: 3, MinCosine: 0.999, Images: filepath.Join(testenv.Root(t), "demo", "grocery", "images")}
	eo := extractors.Options{MaxBatch: 32, Logger: slog.New(slog.DiscardHandler)}
	res := Result{Version: rt.Version(), Library: "test"}
	for _, tg := range targets {
		if !strings.HasPrefix(tg.Dir, filepath.Join(modelDir, onnxgen.GeneratedDir)) {
			t.Errorf("%s installed in %s, want under %s/generated", tg.M.Key(), tg.Dir, modelDir)
		}
		other, err := extractors.Open(t.Context(), rt, tg.M, tg.Dir, eo)
		if err != nil {
			t.Fatal(err)
		}
		row := CheckModel(t.Context(), Env{ModelDir: tg.Dir, Logger: eo.Logger}, o, tg.M, rt, other, eo)
		other.Close()
		if row.Err != nil || !row.Compared || row.CosMin < 0.99999 || row.N != 3 {
			t.Errorf("%s: %+v", tg.M.Key(), row)
		}
		for _, k := range []string{"cpu/1", "cuda/1", "cpu/32", "cuda/32"} {
			if !(row.PerSec[k] > 0) {
				t.Errorf("%s: rate %s = %v", tg.M.Key(), k, row.PerSec[k])
			}
		}
		res.Rows = append(res.Rows, row)
	}
	var b strings.Builder
	if err := res.Text(&b, 0.999); err != nil || !strings.Contains(b.String(), "gen-minilm-tiny@") || !strings.Contains(b.String(), "generated (random) weights") {
		t.Errorf("text (%v):\n%s", err, b.String())
	}
}

// TestCheckWithoutCUDAGeneratesNothing: where CUDA cannot be used, Check
// stops with the error that makes gpu-check exit 3 before it generates any
// model.
func TestCheckWithoutCUDAGeneratesNothing(t *testing.T) {
	modelDir := t.TempDir()
	env := Env{Library: filepath.Join(t.TempDir(), "libonnxruntime.so.1"), ModelDir: modelDir}
	res, err := Check(t.Context(), env, nil, Options{Items: 1, MinCosine: 0.999})
	var ue *UnavailableError
	if !errors.As(err, &ue) || !errors.Is(err, onnx.ErrProviderUnavailable) || len(res.Rows) != 0 {
		t.Fatalf("rows %v, error %v: want no rows and an *UnavailableError", res.Rows, err)
	}
	if _, err := os.Stat(filepath.Join(modelDir, onnxgen.GeneratedDir)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("generated models before CUDA was found usable: %v", err)
	}
}
