package quantize

import (
	"strings"
	"testing"

	"github.com/vitrinehq/vitrine/models"
)

func TestInstalledText(t *testing.T) {
	src := models.Manifest{Name: "m", Version: "1"}
	res := &Installed{
		Manifest:     models.Manifest{Name: "m-int8", Version: "1"},
		ManifestPath: "/out/m-int8.yaml", Graph: "/out/m-int8/1/model.onnx",
		Report: &Report{
			Weights: []Weight{
				{Name: "w1", Rows: 4, Cols: 2, Scales: 2, FP32Bytes: 4096, Int8Bytes: 1024},
				{Name: "w2", Rows: 2, Cols: 2, Scales: 2, FP32Bytes: 1024, Int8Bytes: 256, FP32Kept: true},
			},
			FP32:        []OpCount{{OpType: "Softmax", Count: 3, Reason: "not a product"}},
			FoldedBias:  1,
			BytesBefore: 8192, BytesAfter: 4096,
		},
	}
	var b strings.Builder
	if err := res.Text(&b, src); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	for _, want := range []string{
		"m@1 -> m-int8@1: 2 weights as int8 (DynamicQuantizeMatMul), 1 bias adds folded\n",
		"w2 (fp32 copy kept: another node reads it)",
		"total (2 weights)", "5.0 KiB", "1.2 KiB", "25.0%",
		"model file " + src.Graph(), "50.0%",
		"\nkept in fp32:\n  Softmax  ×3  not a product\n",
		"\nwrote /out/m-int8.yaml\nwrote /out/m-int8/1/model.onnx\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("text lacks %q:\n%s", want, got)
		}
	}
}
