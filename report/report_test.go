package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	js, md := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.md")
	rep := map[string]int{"n": 3}
	err := Write(js, md, rep, func(w io.Writer, r map[string]int) error {
		_, err := fmt.Fprintf(w, "| n |\n|---|\n| %d |\n", r["n"])
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]int
	b, _ := os.ReadFile(js)
	if err := json.Unmarshal(b, &back); err != nil || back["n"] != 3 {
		t.Fatalf("json = %s (%v)", b, err)
	}
	if b, _ := os.ReadFile(md); !bytes.Contains(b, []byte("| 3 |")) {
		t.Fatalf("markdown = %q", b)
	}
}

func TestLinearTicks(t *testing.T) {
	tests := []struct {
		top       float64
		wantLast  string
		wantCount int
	}{
		{0, "0", 1},
		{1, "1.0", 6},
		{0.37, "0.35", 8},
		{250, "250", 6},
	}
	for _, tc := range tests {
		ts := LinearTicks(tc.top)
		if len(ts) != tc.wantCount || ts[len(ts)-1].Label != tc.wantLast {
			t.Errorf("LinearTicks(%v) = %d ticks ending %q, want %d ending %q", tc.top, len(ts), ts[len(ts)-1].Label, tc.wantCount, tc.wantLast)
		}
	}
}

func assertPNG(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 1000 || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Fatalf("%s is not a PNG plot (%d bytes)", path, len(b))
	}
}

func TestPlots(t *testing.T) {
	dir := t.TempDir()
	curve := make([]CurvePoint, CurveK)
	for i := range curve {
		curve[i] = CurvePoint{K: i + 1, Recall: float64(i+1) / CurveK, NDCG: float64(i+1) / (2 * CurveK)}
	}
	p := filepath.Join(dir, "curve.png")
	if err := CurvePlot(p, "test", []NamedCurve{{Method: "a", Curve: curve}}); err != nil {
		t.Fatal(err)
	}
	assertPNG(t, p)
	lat := []time.Duration{time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond}
	p = filepath.Join(dir, "latency.png")
	if err := LatencyPlot(p, "test", []LatencySeries{{Name: "api", Latencies: lat}, {Name: "bare", Latencies: lat[:2]}}); err != nil {
		t.Fatal(err)
	}
	assertPNG(t, p)
}
