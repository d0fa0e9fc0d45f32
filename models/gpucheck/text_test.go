package gpucheck

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitrinehq/vitrine/models"
)

func TestResultText(t *testing.T) {
	res := Result{Version: "1.22.0", Library: "/lib/libonnxruntime.so.1", Rows: []Row{
		{M: models.Manifest{Name: "t", Version: "1", Modality: models.Text}, Inputs: "3 lines of f.txt", N: 3,
			PerSec: map[string]float64{"cpu/1": 10, "cuda/1": 20.25, "cpu/32": 30, "cuda/32": 400}, CosMin: 0.9999, CosMean: 0.99995, Compared: true},
		{M: models.Manifest{Name: "i", Version: "2", Modality: models.Image}, N: 0, PerSec: map[string]float64{}, Err: errors.New("boom")},
	}}
	var b strings.Builder
	if err := res.Text(&b, 0.999); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	for _, want := range []string{
		"ONNX Runtime 1.22.0 from /lib/libonnxruntime.so.1; sessions on cpu and cuda\n",
		"t@1 inputs: 3 lines of f.txt\n",
		"t@1    text      3      10.0      20.2       30.0       400.0       0.999900  0.999950  OK\n",
		"i@2    image     0      -         -          -          -           -         -         FAIL: boom\n",
		"at least 0.999 required\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("text lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "i@2 inputs") {
		t.Errorf("a model without inputs has an inputs line:\n%s", got)
	}
}

func TestReportWithoutCUDA(t *testing.T) {
	var b strings.Builder
	env := Env{Library: filepath.Join(t.TempDir(), "libonnxruntime.so.1"), ModelDir: t.TempDir()}
	err := Report(t.Context(), &b, env, []models.Manifest{{Name: "t", Version: "1", Modality: models.Text}}, Options{Items: 1, MinCosine: 0.999})
	var ue *UnavailableError
	if !errors.As(err, &ue) {
		t.Fatalf("error %v, want an *UnavailableError", err)
	}
	if b.Len() != 0 {
		t.Errorf("wrote before failing:\n%s", b.String())
	}
}
