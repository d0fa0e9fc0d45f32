package onnx

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSessionInfo(t *testing.T) {
	s := shared.mobile
	wantIn := []TensorInfo{{Name: "input", Type: ElementFloat32, Shape: []int64{-1, 3, 224, 224}}}
	wantOut := []TensorInfo{{Name: "output", Type: ElementFloat32, Shape: []int64{-1, 1000}}}
	if got := s.Inputs(); !equalInfos(got, wantIn) {
		t.Errorf("Inputs() = %v, want %v", got, wantIn)
	}
	if got := s.Outputs(); !equalInfos(got, wantOut) {
		t.Errorf("Outputs() = %v, want %v", got, wantOut)
	}
	if got := s.Provider(); got != ProviderCPU {
		t.Errorf("Provider() = %q, want cpu", got)
	}
	// Callers get copies: mutating them must not change the session.
	s.Inputs()[0].Shape[1] = 99
	if got := s.Inputs()[0].Shape[1]; got != 3 {
		t.Errorf("Inputs() shares its shape slice: dimension 1 became %d", got)
	}
}

func equalInfos(a, b []TensorInfo) bool {
	return slices.EqualFunc(a, b, func(x, y TensorInfo) bool {
		return x.Name == y.Name && x.Type == y.Type && slices.Equal(x.Shape, y.Shape)
	})
}

func TestSessionRunBatchMatchesSingle(t *testing.T) {
	ctx := context.Background()
	s := shared.mobile
	items := []Tensor{grayImage(1, 0.5), gradientImage(1)}

	singles := make([][]float32, len(items))
	for i, it := range items {
		out, err := s.Run(ctx, []Tensor{it})
		if err != nil {
			t.Fatalf("single run %d: %v", i, err)
		}
		if got := out[0].Shape(); !slices.Equal(got, []int64{1, 1000}) {
			t.Fatalf("single run %d: output shape %v, want [1 1000]", i, got)
		}
		singles[i] = out[0].Float32s()
	}
	if d := maxAbsDiff(singles[0], singles[1]); d < 1e-2 {
		t.Fatalf("different images gave near-identical logits (max diff %g): the input is not reaching the model", d)
	}

	batch, err := Concat(items)
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Run(ctx, []Tensor{batch})
	if err != nil {
		t.Fatalf("batch run: %v", err)
	}
	if got := out[0].Shape(); !slices.Equal(got, []int64{2, 1000}) {
		t.Fatalf("batch output shape %v, want [2 1000]", got)
	}
	rows, err := Split(out[0], []int64{1, 1})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		if d := maxAbsDiff(r.Float32s(), singles[i]); d > 1e-4 {
			t.Errorf("batch row %d differs from its single run by %g, want <= 1e-4", i, d)
		}
	}
}

func TestSessionRunInvalidInput(t *testing.T) {
	gray := grayImage(1, 0.5).Float32s()
	tests := []struct {
		name   string
		inputs []Tensor
		reason string // substring of InputError.Reason; "" when no single tensor is at fault
	}{
		{"no tensors", nil, ""},
		{"two tensors", []Tensor{grayImage(1, 0.5), grayImage(1, 0.5)}, ""},
		{"zero tensor", []Tensor{{}}, "element type"},
		{"int64 instead of float32", []Tensor{Int64Tensor([]int64{1, 3, 224, 224}, make([]int64, 3*224*224))}, "element type"},
		{"rank 3", []Tensor{Float32Tensor([]int64{3, 224, 224}, gray)}, "rank 3"},
		{"width 225", []Tensor{Float32Tensor([]int64{1, 3, 224, 225}, make([]float32, 3*224*225))}, "dimension 3 is 225, want 224"},
		{"channels last", []Tensor{Float32Tensor([]int64{1, 224, 224, 3}, gray)}, "dimension 1 is 224, want 3"},
		{"empty batch", []Tensor{Float32Tensor([]int64{0, 3, 224, 224}, nil)}, "dimension 0 is 0"},
		{"negative batch", []Tensor{Float32Tensor([]int64{-1, 3, 224, 224}, gray)}, "dimension 0 is -1"},
		{"short data", []Tensor{Float32Tensor([]int64{2, 3, 224, 224}, gray)}, "needs 301056 values"},
		{"long data", []Tensor{Float32Tensor([]int64{1, 3, 224, 224}, append(slices.Clone(gray), 1))}, "needs 150528 values"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := shared.mobile.Run(context.Background(), tc.inputs)
			if !errors.Is(err, ErrInvalidInput) {
				t.Fatalf("Run = %v, %v; want ErrInvalidInput", out, err)
			}
			var ie *InputError
			if tc.reason == "" {
				if errors.As(err, &ie) {
					t.Fatalf("got InputError %v for a tensor-count mistake", ie)
				}
				return
			}
			if !errors.As(err, &ie) {
				t.Fatalf("error %v is not an *InputError", err)
			}
			if ie.Name != "input" || ie.Index != 0 || !strings.Contains(ie.Reason, tc.reason) {
				t.Errorf("InputError{Index %d, Name %q, Reason %q}, want input 0 \"input\" with reason containing %q", ie.Index, ie.Name, ie.Reason, tc.reason)
			}
		})
	}
}

func TestSessionRunContext(t *testing.T) {
	s := shared.mobile
	t.Run("already cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := s.Run(ctx, []Tensor{grayImage(1, 0.5)}); !errors.Is(err, context.Canceled) {
			t.Fatalf("Run = %v, want context.Canceled", err)
		}
	})
	t.Run("cancelled mid-run", func(t *testing.T) {
		big := []Tensor{grayImage(32, 0.5)}
		start := time.Now()
		if _, err := s.Run(context.Background(), big); err != nil {
			t.Fatal(err)
		}
		full := time.Since(start)

		ctx, cancel := context.WithTimeout(context.Background(), full/10)
		defer cancel()
		start = time.Now()
		_, err := s.Run(ctx, big)
		took := time.Since(start)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Run = %v, want context.DeadlineExceeded", err)
		}
		// ORT checks the terminate flag between kernels, so the run stops
		// long before it would have finished.
		if took > full/2 {
			t.Errorf("cancelled run took %v, the full run %v: cancellation did not stop ORT", took, full)
		}
		// The session is still usable afterwards.
		if _, err := s.Run(context.Background(), []Tensor{grayImage(1, 0.5)}); err != nil {
			t.Fatalf("run after cancellation: %v", err)
		}
	})
}

func TestOpenSessionErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		path string
		opts []SessionOption
		want error
	}{
		{"missing model", filepath.Join(t.TempDir(), "nope.onnx"), nil, fs.ErrNotExist},
		{"unknown output", shared.model, []SessionOption{WithOutputNames("627")}, ErrUnknownTensor},
		{"unknown input", shared.model, []SessionOption{WithInputNames("pixel_values")}, ErrUnknownTensor},
		{"empty output list", shared.model, []SessionOption{WithOutputNames()}, ErrInvalidOption},
		{"not a model", filepath.Join("testdata", "not-a-model.onnx"), nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := shared.rt.OpenSession(ctx, tc.path, tc.opts...)
			if err == nil {
				_ = s.Close()
				t.Fatal("OpenSession succeeded")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("OpenSession = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), filepath.Base(tc.path)) {
				t.Errorf("error %q does not name the model", err)
			}
		})
	}
}

func TestSessionNamedOutputs(t *testing.T) {
	ctx := context.Background()
	s, err := shared.rt.OpenSession(ctx, shared.model, WithInputNames("input"), WithOutputNames("output"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, err := s.Run(ctx, []Tensor{grayImage(1, 0.25)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || !slices.Equal(out[0].Shape(), []int64{1, 1000}) || out[0].Type() != ElementFloat32 {
		t.Fatalf("outputs %v, want one float32 [1 1000]", out)
	}
}

func TestSessionClose(t *testing.T) {
	ctx := context.Background()
	s, err := shared.rt.OpenSession(ctx, shared.model)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close = %v, want nil", err)
	}
	if _, err := s.Run(ctx, []Tensor{grayImage(1, 0.5)}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Run after Close = %v, want ErrClosed", err)
	}
}
