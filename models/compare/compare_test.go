package compare

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vitrinehq/vitrine/internal/testenv"
	"github.com/vitrinehq/vitrine/models"
	"github.com/vitrinehq/vitrine/vecmath"
)

func TestReadInputs(t *testing.T) {
	in, err := ReadInputs(filepath.Join("testdata", "texts.txt"), models.Text)
	if err != nil {
		t.Fatal(err)
	}
	// Blank lines are skipped, CRLF and spaces trimmed, lines kept.
	if len(in.Data) != 5 || string(in.Data[0]) != "running shoes for the trail" || string(in.Data[4]) != "sneakers" {
		t.Errorf("inputs %q", in.Data)
	}
	if !slices.Equal(in.Lines, []int{1, 3, 4, 5, 6}) {
		t.Errorf("lines %v, want 1 3 4 5 6", in.Lines)
	}

	// Image inputs are paths relative to the list's directory.
	dir := t.TempDir()
	for name, content := range map[string]string{"a.png": "A", "list.txt": "a.png\n" + filepath.Join(dir, "a.png") + "\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	in, err = ReadInputs(filepath.Join(dir, "list.txt"), models.Image)
	if err != nil || len(in.Data) != 2 || string(in.Data[0]) != "A" || string(in.Data[1]) != "A" {
		t.Errorf("image inputs %q, %v", in.Data, err)
	}
	if _, err := ReadInputs(filepath.Join("testdata", "images-missing.txt"), models.Image); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a listed file that is missing: %v, want ErrNotExist", err)
	}
	if _, err := ReadInputs(filepath.Join("testdata", "no-such-file"), models.Text); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing inputs file: %v, want ErrNotExist", err)
	}
}

func TestAgreement(t *testing.T) {
	tests := []struct {
		name     string
		a, b     [][]float32
		mean, lo float64
		err      error
	}{
		{"identical", [][]float32{{1, 0}, {0, 2}}, [][]float32{{1, 0}, {0, 2}}, 1, 1, nil},
		{"one orthogonal", [][]float32{{1, 0}, {0, 1}}, [][]float32{{3, 0}, {1, 0}}, 0.5, 0, nil},
		// A zero vector has cosine 0, never NaN.
		{"zero vector", [][]float32{{0, 0}, {1, 1}}, [][]float32{{1, 0}, {2, 2}}, 0.5, 0, nil},
		{"lengths differ", [][]float32{{1, 0}}, [][]float32{{1, 0, 0}}, 0, 0, vecmath.ErrLengthMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mean, lo, err := Agreement(tc.a, tc.b)
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if math.Abs(mean-tc.mean) > 1e-9 || math.Abs(lo-tc.lo) > 1e-9 {
				t.Errorf("mean %v min %v, want %v %v", mean, lo, tc.mean, tc.lo)
			}
		})
	}
	if _, _, err := Agreement(nil, nil); err == nil {
		t.Error("no vectors: no error")
	}
}

func TestNeighboursAndOverlap(t *testing.T) {
	// Directions 0°, 5.7°, 45° and 90°: lengths do not count.
	a := [][]float32{{1, 0}, {10, 1}, {1, 1}, {0, 1}}
	got, err := Neighbours(a, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]int{{1, 2}, {0, 2}, {1, 0}, {2, 1}} // 0 and 3 tie for 2: index first
	for q := range want {
		if !slices.Equal(got[q], want[q]) {
			t.Errorf("neighbours of %d: %v, want %v", q, got[q], want[q])
		}
	}
	if r := Overlap(got, got); r != 1 {
		t.Errorf("overlap with itself %v, want 1", r)
	}
	b := [][]int{{1, 3}, {0, 2}, {0, 3}, {2, 1}}
	if r := Overlap(got, b); math.Abs(r-0.75) > 1e-9 { // (1/2 + 1 + 1/2 + 1) / 4
		t.Errorf("overlap %v, want 0.75", r)
	}
	// Ties are broken by index; k is capped by the other vectors.
	tied, err := Neighbours([][]float32{{1, 0}, {1, 0}, {1, 0}}, 5)
	if err != nil || !slices.Equal(tied[1], []int{0, 2}) {
		t.Errorf("tied neighbours %v, %v", tied, err)
	}
	if _, err := Neighbours([][]float32{{1, 0}, {1}}, 1); !errors.Is(err, vecmath.ErrLengthMismatch) {
		t.Errorf("ragged vectors: %v, want ErrLengthMismatch", err)
	}
}

// TestRun compares the GloVe text model with itself (through its
// manifest name and a copy of the manifest) on real texts: identical
// embeddings and neighbours; and refuses what cannot be compared.
func TestRun(t *testing.T) {
	m := testenv.Manifest(t, "glove-100d")
	side := Model{Manifest: m, Dir: testenv.ModelDir(t)}
	in, err := ReadInputs(filepath.Join("testdata", "texts.txt"), models.Text)
	if err != nil {
		t.Fatal(err)
	}
	rt := testenv.Runtime(t)
	c, err := Run(t.Context(), rt, side, side, in, WithBatch(2), WithRuns(3), WithK(10))
	if err != nil {
		t.Fatal(err)
	}
	if c.Inputs != 5 || c.K != 4 || c.Runs != 3 || c.Batch != 2 || len(c.A.Times) != 3 || len(c.B.Times) != 3 {
		t.Errorf("comparison %+v: want 5 inputs, K capped at 4, 3 timed passes each", c)
	}
	if !c.SameDim || c.CosMean < 0.99999 || c.CosMin < 0.99999 || c.Recall != 1 || c.SizeRatio() != 1 {
		t.Errorf("a model against itself: same dim %v, cosine %v/%v, recall %v, size ratio %v; want 1s", c.SameDim, c.CosMean, c.CosMin, c.Recall, c.SizeRatio())
	}
	if c.A.ItemsPerSecond(c.Inputs) <= 0 || c.SpeedRatio() <= 0 || c.A.Size == 0 || len(c.A.Vectors) != 5 {
		t.Errorf("speed %v, ratio %v, size %d, %d vectors", c.A.ItemsPerSecond(c.Inputs), c.SpeedRatio(), c.A.Size, len(c.A.Vectors))
	}

	var txt strings.Builder
	if err := c.Text(&txt); err != nil || !strings.Contains(txt.String(), "recall@4:   1.000") || !strings.Contains(txt.String(), "size B/A:    1.000") {
		t.Errorf("text (%v):\n%s", err, txt.String())
	}

	img := Model{Manifest: testenv.Manifest(t, "mobilenetv2-int8"), Dir: testenv.ModelDir(t)}
	missing := side
	missing.Dir = t.TempDir()
	tests := []struct {
		name string
		a, b Model
		in   Inputs
		want error
	}{
		{"two modalities", side, img, in, ErrModalities},
		{"one input", side, side, Inputs{Data: in.Data[:1], Lines: in.Lines[:1]}, ErrTooFewInputs},
		{"graph not fetched", side, missing, in, os.ErrNotExist},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Run(t.Context(), rt, tc.a, tc.b, tc.in); !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
		})
	}
}

func TestByteSize(t *testing.T) {
	for n, want := range map[int64]string{512: "512 B", 2048: "2.0 KiB", 3 << 20: "3.00 MiB"} {
		if got := ByteSize(n); got != want {
			t.Errorf("ByteSize(%d) = %s, want %s", n, got, want)
		}
	}
}
