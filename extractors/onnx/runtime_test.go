package onnx

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestNewRuntimeErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "lib", "libonnxruntime.so.1")
	other := filepath.Join(dir, "libonnxruntime-other.so.1")
	if err := os.WriteFile(other, []byte("not the loaded library"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		opts     []Option
		want     error
		contains []string
	}{
		{"missing library", []Option{WithLibraryPath(missing)}, ErrLibraryNotFound, []string{missing, "scripts/setup", "vitrine models fetch"}},
		{"library is a directory", []Option{WithLibraryPath(dir)}, ErrLibraryNotFound, []string{dir, "scripts/setup"}},
		// ORT is already loaded from the real library; a different file
		// cannot be loaded beside it.
		{"different library", []Option{WithLibraryPath(other)}, ErrLibraryMismatch, []string{other, shared.rt.Library()}},
		{"no library", nil, ErrInvalidOption, []string{"WithLibraryPath"}},
		{"empty library", []Option{WithLibraryPath("")}, ErrInvalidOption, nil},
		{"unknown provider", []Option{WithLibraryPath(shared.library), WithProvider("tpu")}, ErrInvalidOption, []string{`"tpu"`}},
		{"negative intra threads", []Option{WithLibraryPath(shared.library), WithIntraOpThreads(-1)}, ErrInvalidOption, nil},
		{"negative inter threads", []Option{WithLibraryPath(shared.library), WithInterOpThreads(-2)}, ErrInvalidOption, nil},
		{"nil logger", []Option{WithLibraryPath(shared.library), WithLogger(nil)}, ErrInvalidOption, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rt, err := NewRuntime(context.Background(), tc.opts...)
			if err == nil {
				_ = rt.Close()
				t.Fatal("NewRuntime succeeded")
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("NewRuntime = %v, want %v", err, tc.want)
			}
			for _, s := range tc.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			if errors.Is(tc.want, ErrLibraryNotFound) || errors.Is(tc.want, ErrLibraryMismatch) {
				var le *LibraryError
				if !errors.As(err, &le) || le.Path == "" {
					t.Errorf("error %v is not a *LibraryError with the path", err)
				}
			}
		})
	}
}

// A file that is not ONNX Runtime (say a truncated download) fails with a
// typed error and leaves no half-initialised environment. ORT is already
// loaded in this process, so the probe runs in a fresh one.
func TestLibraryLoadFailure(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "libonnxruntime.so.1")
	if err := os.WriteFile(bad, []byte("truncated download"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), loadProbeEnv+"="+bad)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("probe: %v; output:\n%s", err, out)
	}
	for _, want := range []string{bad, "scripts/setup"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("error %q does not mention %q", out, want)
		}
	}
}

// A second Runtime joins the loaded environment (here through a symlink, a
// second spelling of the same file); closing it closes its own sessions and
// leaves the other Runtime working.
func TestRuntimeSharesEnvironment(t *testing.T) {
	ctx := context.Background()
	link := filepath.Join(t.TempDir(), "libonnxruntime.so.1")
	if err := os.Symlink(shared.library, link); err != nil {
		t.Fatal(err)
	}
	rt, err := NewRuntime(ctx, WithLibraryPath(link), WithIntraOpThreads(1), WithInterOpThreads(1))
	if err != nil {
		t.Fatalf("second runtime: %v", err)
	}
	if rt.Library() != shared.rt.Library() {
		t.Errorf("Library() = %q, want the resolved %q", rt.Library(), shared.rt.Library())
	}
	if rt.Version() == "" {
		t.Error("Version() is empty")
	}
	s, err := rt.OpenSession(ctx, shared.model)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Run(ctx, []Tensor{grayImage(1, 0.5)}); err != nil {
		t.Fatalf("run on second runtime: %v", err)
	}
	if err := rt.Close(); err != nil {
		t.Fatalf("close second runtime: %v", err)
	}
	if err := rt.Close(); err != nil {
		t.Fatalf("second Close = %v, want nil", err)
	}
	if _, err := s.Run(ctx, []Tensor{grayImage(1, 0.5)}); !errors.Is(err, ErrClosed) {
		t.Errorf("session of a closed runtime: Run = %v, want ErrClosed", err)
	}
	if _, err := rt.OpenSession(ctx, shared.model); !errors.Is(err, ErrClosed) {
		t.Errorf("OpenSession on a closed runtime = %v, want ErrClosed", err)
	}
	if _, err := shared.mobile.Run(ctx, []Tensor{grayImage(1, 0.5)}); err != nil {
		t.Fatalf("shared runtime broken by closing another: %v", err)
	}
}

// cudaInstalled reports whether ORT's CUDA provider libraries sit beside the
// loaded library. With the CPU-only build scripts/setup installs by default
// they do not, and asking for CUDA must fail with a helpful error.
func cudaInstalled(t *testing.T) bool {
	t.Helper()
	_, err := os.Stat(filepath.Join(filepath.Dir(shared.library), "libonnxruntime_providers_cuda.so"))
	return err == nil
}

func TestProviderCUDA(t *testing.T) {
	ctx := context.Background()
	rt, err := NewRuntime(ctx, WithLibraryPath(shared.library), WithProvider(ProviderCUDA))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	s, err := rt.OpenSession(ctx, shared.model)
	if err == nil {
		defer s.Close()
		if !cudaInstalled(t) {
			t.Fatal("cuda session opened without the CUDA provider library")
		}
		if s.Provider() != ProviderCUDA {
			t.Fatalf("Provider() = %q, want cuda", s.Provider())
		}
		if _, err := s.Run(ctx, []Tensor{grayImage(1, 0.5)}); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !errors.Is(err, ErrProviderUnavailable) {
		t.Fatalf("OpenSession = %v, want ErrProviderUnavailable", err)
	}
	var pe *ProviderError
	if !errors.As(err, &pe) || pe.Provider != ProviderCUDA {
		t.Fatalf("error %v is not a *ProviderError for cuda", err)
	}
	msg := err.Error()
	t.Logf("cuda on this machine: %s", msg)
	for _, want := range []string{"scripts/setup --gpu", "auto"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	if !cudaInstalled(t) && !strings.Contains(msg, "libonnxruntime_providers_cuda.so") {
		t.Errorf("error %q does not name the missing libonnxruntime_providers_cuda.so", msg)
	}
}

func TestProviderAutoFallsBack(t *testing.T) {
	ctx := context.Background()
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	rt, err := NewRuntime(ctx, WithLibraryPath(shared.library), WithProvider(ProviderAuto), WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	for i := range 2 {
		s, err := rt.OpenSession(ctx, shared.model)
		if err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
		out, err := s.Run(ctx, []Tensor{grayImage(1, 0.5)})
		if err != nil {
			t.Fatalf("session %d on %s: %v", i, s.Provider(), err)
		}
		if got := out[0].Shape(); got[0] != 1 || got[1] != 1000 {
			t.Fatalf("session %d: output shape %v", i, got)
		}
		if cudaInstalled(t) {
			continue // either provider is right on a GPU machine
		}
		if s.Provider() != ProviderCPU {
			t.Fatalf("session %d: Provider() = %q, want the cpu fallback", i, s.Provider())
		}
	}
	if cudaInstalled(t) {
		return
	}
	// One warning for the Runtime, not one per session.
	if n := strings.Count(logs.String(), "falling back to CPU"); n != 1 {
		t.Errorf("logged the fallback %d times, want once; logs:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("fallback not logged as a warning; logs:\n%s", logs.String())
	}
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes slog may make.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestIntraOpSpinning: spinning off (the default) reaches the session
// options as ORT's allow_spinning entry, on leaves ORT's own default, and
// sessions compute the same either way.
func TestIntraOpSpinning(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		opts  []Option
		entry bool
	}{
		{"default", nil, true},
		{"on", []Option{WithIntraOpSpinning(true)}, false},
		{"off", []Option{WithIntraOpSpinning(false)}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt, err := NewRuntime(ctx, append([]Option{WithLibraryPath(shared.library)}, tc.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			defer rt.Close()
			so, err := rt.sessionOptions()
			if err != nil {
				t.Fatal(err)
			}
			defer so.Destroy()
			has, err := so.HasSessionConfigEntry("session.intra_op.allow_spinning")
			if err != nil || has != tc.entry {
				t.Fatalf("allow_spinning entry present = %v (%v), want %v", has, err, tc.entry)
			}
			if has {
				if v, err := so.GetSessionConfigEntry("session.intra_op.allow_spinning"); err != nil || v != "0" {
					t.Fatalf("allow_spinning = %q (%v), want 0", v, err)
				}
			}
			s, err := rt.OpenSession(ctx, shared.model)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Run(ctx, []Tensor{grayImage(1, 0.5)})
			if err != nil {
				t.Fatal(err)
			}
			want, err := shared.mobile.Run(ctx, []Tensor{grayImage(1, 0.5)})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got[0].Float32s(), want[0].Float32s()) {
				t.Error("output differs from the shared runtime's")
			}
		})
	}
}
