package reference_test

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/vitrinehq/vitrine/internal/onnxgen"
	"github.com/vitrinehq/vitrine/internal/onnxgen/reference"
)

func TestTransformerReferenceRejectsBadInput(t *testing.T) {
	_, bert, err := onnxgen.BERT(onnxgen.BERTConfig{Seed: 1, VocabSize: 10, MaxPositions: 4})
	if err != nil {
		t.Fatal(err)
	}
	_, vit, err := onnxgen.ViT(onnxgen.ViTConfig{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	ok := reference.TextInput{Batch: 1, Seq: 2, InputIDs: []int64{1, 2}, AttentionMask: []int64{1, 1}}
	tests := []struct {
		name string
		run  func() error
	}{
		{"longer than the position table", func() error {
			in := reference.TextInput{Batch: 1, Seq: 5, InputIDs: make([]int64, 5), AttentionMask: []int64{1, 1, 1, 1, 1}}
			_, err := reference.BERT(bert, in)
			return err
		}},
		{"id outside the vocabulary", func() error {
			in := ok
			in.InputIDs = []int64{1, 10}
			_, err := reference.BERT(bert, in)
			return err
		}},
		{"row with no attended token", func() error {
			in := ok
			in.AttentionMask = []int64{0, 0}
			_, err := reference.BERT(bert, in)
			return err
		}},
		{"token type outside the table", func() error {
			in := ok
			in.TokenTypeIDs = []int64{0, 2}
			_, err := reference.BERT(bert, in)
			return err
		}},
		{"mask of the wrong length", func() error {
			in := ok
			in.AttentionMask = []int64{1}
			_, err := reference.BERT(bert, in)
			return err
		}},
		{"pixels of the wrong size", func() error {
			_, err := reference.ViT(vit, make([]float32, 3*32*32-1), 1)
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.run(); !errors.Is(err, reference.ErrInput) {
				t.Fatalf("got %v, want ErrInput", err)
			}
		})
	}
	if _, err := reference.BERT(bert, ok); err != nil {
		t.Fatalf("valid input refused: %v", err)
	}
}

func TestTransformerReferencePooling(t *testing.T) {
	// Two rows of three 2-d tokens.
	last := reference.Tensor{Shape: []int{2, 3, 2}, Data: []float64{
		1, 2, 3, 4, 100, 100,
		5, 6, 7, 8, 9, 10,
	}}
	mean := reference.MeanPool(last, []int64{1, 1, 0, 1, 1, 1})
	if want := [][]float64{{2, 3}, {7, 8}}; !slices.EqualFunc(mean, want, slices.Equal) {
		t.Errorf("MeanPool = %v, want %v (the padded token must not count)", mean, want)
	}
	if cls, want := reference.CLS(last), [][]float64{{1, 2}, {5, 6}}; !slices.EqualFunc(cls, want, slices.Equal) {
		t.Errorf("CLS = %v, want %v", cls, want)
	}
	if rows := last.Rows(); len(rows) != 6 || !slices.Equal(rows[5], []float64{9, 10}) {
		t.Errorf("Rows = %v", rows)
	}
	if n := reference.Normalize([]float64{3, 4}); !slices.Equal(n, []float64{0.6, 0.8}) {
		t.Errorf("Normalize(3,4) = %v", n)
	}
	if n := reference.Normalize([]float64{0, 0}); !slices.Equal(n, []float64{0, 0}) {
		t.Errorf("Normalize(0,0) = %v, want zeros back", n)
	}
}

func TestTransformerReferenceMaxAbsDiff(t *testing.T) {
	tests := []struct {
		name string
		got  []float32
		want []float64
		diff float64
	}{
		{"equal", []float32{1, 2}, []float64{1, 2}, 0},
		{"largest wins", []float32{1, 2.5}, []float64{1.25, 2}, 0.5},
		{"length mismatch", []float32{1}, []float64{1, 2}, math.Inf(1)},
		{"NaN never passes", []float32{float32(math.NaN())}, []float64{0}, math.Inf(1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if d := reference.MaxAbsDiff(tc.got, tc.want); d != tc.diff {
				t.Fatalf("MaxAbsDiff = %v, want %v", d, tc.diff)
			}
		})
	}
}
