package config_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/vitrinehq/vitrine/internal/config"
)

// TestORTLibrary checks which ONNX Runtime build a process loads: the CUDA
// build under <home>/lib-cuda only for provider cuda or auto, only once it
// is installed, and never over an explicit ort.library.
func TestORTLibrary(t *testing.T) {
	withCUDA := t.TempDir()
	cudaLib := filepath.Join(withCUDA, "lib-cuda", "libonnxruntime.so.1")
	if err := os.MkdirAll(filepath.Dir(cudaLib), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cudaLib, []byte("stand-in"), 0o644); err != nil {
		t.Fatal(err)
	}
	cpuLib := filepath.Join(withCUDA, "lib", "libonnxruntime.so.1")

	withoutCUDA := t.TempDir()
	// A directory where the library should be is not the library.
	dirOnly := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dirOnly, "lib-cuda", "libonnxruntime.so.1"), 0o755); err != nil {
		t.Fatal(err)
	}
	explicit := filepath.Join(t.TempDir(), "custom", "libonnxruntime.so.1.29.0")

	tests := []struct {
		name     string
		home     string
		provider string
		library  string
		want     string
	}{
		{"cpu ignores the CUDA build", withCUDA, "cpu", "", cpuLib},
		{"cuda prefers the CUDA build", withCUDA, "cuda", "", cudaLib},
		{"auto prefers the CUDA build", withCUDA, "auto", "", cudaLib},
		{"cuda without the CUDA build gets the CPU one", withoutCUDA, "cuda", "", filepath.Join(withoutCUDA, "lib", "libonnxruntime.so.1")},
		{"auto without the CUDA build gets the CPU one", withoutCUDA, "auto", "", filepath.Join(withoutCUDA, "lib", "libonnxruntime.so.1")},
		{"a directory is not the CUDA build", dirOnly, "auto", "", filepath.Join(dirOnly, "lib", "libonnxruntime.so.1")},
		{"ort.library wins for cpu", withCUDA, "cpu", explicit, explicit},
		{"ort.library wins for cuda", withCUDA, "cuda", explicit, explicit},
		{"ort.library wins for auto", withCUDA, "auto", explicit, explicit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := config.Default()
			c.Home, c.ORT.Provider, c.ORT.Library = tc.home, tc.provider, tc.library
			if got := c.ORTLibrary(); got != tc.want {
				t.Errorf("ORTLibrary() = %s, want %s", got, tc.want)
			}
			// Where fetch installs each build does not depend on the provider.
			wantCPU := filepath.Join(tc.home, "lib", "libonnxruntime.so.1")
			if tc.library != "" {
				wantCPU = tc.library
			}
			if got := c.ORTCPULibrary(); got != wantCPU {
				t.Errorf("ORTCPULibrary() = %s, want %s", got, wantCPU)
			}
			if got, want := c.ORTCUDALibrary(), filepath.Join(tc.home, "lib-cuda", "libonnxruntime.so.1"); got != want {
				t.Errorf("ORTCUDALibrary() = %s, want %s", got, want)
			}
		})
	}
}

// TestORTLibraryRelativeHome checks a relative home resolves against the
// working directory for the CUDA build too, as it does for the CPU one.
func TestORTLibraryRelativeHome(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.MkdirAll(filepath.Join(".vitrine", "lib-cuda"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(".vitrine", "lib-cuda", "libonnxruntime.so.1"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	c := config.Default()
	c.ORT.Provider = "auto"
	got := c.ORTLibrary()
	if !filepath.IsAbs(got) || filepath.Base(filepath.Dir(got)) != "lib-cuda" {
		t.Errorf("ORTLibrary() = %s, want an absolute path in .vitrine/lib-cuda", got)
	}
}
