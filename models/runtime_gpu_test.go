package models

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// gpuRuntime is a valid CUDA runtime: a core library and two providers.
func gpuRuntime() Runtime {
	sha := strings.Repeat("ef", 32)
	lib := func(name string) File {
		return File{Name: name, SHA256: sha, Source: Source{URL: "https://example.com/" + name, SHA256: sha}}
	}
	return Runtime{Name: "rt-cuda", Version: "1", Platform: "linux/amd64", GPU: true,
		File:      lib("libonnxruntime.so.1"),
		Providers: []File{lib("libonnxruntime_providers_shared.so"), lib("libonnxruntime_providers_cuda.so")},
	}
}

func TestRuntimeValidateProviders(t *testing.T) {
	if err := gpuRuntime().Validate(); err != nil {
		t.Fatalf("base runtime: %v", err)
	}
	tests := []struct {
		name   string
		mutate func(r *Runtime)
		field  string
	}{
		{"path in provider name", func(r *Runtime) { r.Providers[0].Name = "x/libonnxruntime_providers_shared.so" }, "providers[0].name"},
		{"empty provider name", func(r *Runtime) { r.Providers[1].Name = "" }, "providers[1].name"},
		{"provider named like the library", func(r *Runtime) { r.Providers[0].Name = r.File.Name }, "providers[0].name"},
		{"two providers of one name", func(r *Runtime) { r.Providers[1].Name = r.Providers[0].Name }, "providers[1].name"},
		{"provider transform", func(r *Runtime) { r.Providers[1].Transform = &Transform{Op: OpAddOutputs} }, "providers[1].transform"},
		{"provider bad sha", func(r *Runtime) { r.Providers[0].SHA256 = "x" }, "providers[0].sha256"},
		{"provider without source", func(r *Runtime) { r.Providers[1].Source.URL = "" }, "providers[1].source"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := gpuRuntime()
			tt.mutate(&r)
			err := r.Validate()
			if !errors.Is(err, ErrManifest) || !strings.Contains(err.Error(), ": "+tt.field+": ") {
				t.Errorf("want ErrManifest naming %q, got %v", tt.field, err)
			}
		})
	}
}

func TestRuntimeLibraries(t *testing.T) {
	tests := []struct {
		name string
		r    Runtime
		want []string
	}{
		{"library first, then providers in order", gpuRuntime(), []string{"libonnxruntime.so.1", "libonnxruntime_providers_shared.so", "libonnxruntime_providers_cuda.so"}},
		{"no providers", Runtime{File: File{Name: "libonnxruntime.so.1"}}, []string{"libonnxruntime.so.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, f := range tt.r.Libraries() {
				got = append(got, f.Name)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Libraries() = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestRepoCUDARuntime holds the committed CUDA manifest to what the fetch
// and the CUDA provider need: a GPU runtime with ORT's provider bridge and
// CUDA provider, every file from a pinned npm tarball.
func TestRepoCUDARuntime(t *testing.T) {
	r, err := LoadRuntime(filepath.Join("runtime", "onnxruntime-cuda.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !r.GPU || r.File.Name != "libonnxruntime.so.1" || r.Platform != "linux/amd64" {
		t.Errorf("runtime %+v: want a linux/amd64 GPU runtime of libonnxruntime.so.1", r)
	}
	var names []string
	for _, f := range r.Libraries() {
		names = append(names, f.Name)
		if f.Source.NPM == nil || f.Source.NPM.TarballSHA256 == "" {
			t.Errorf("%s: want an npm source with a pinned tarball sha256", f.Name)
		}
		if f.SHA256 != f.Source.SHA256 {
			t.Errorf("%s: installed as published, so sha256 must equal source.sha256", f.Name)
		}
	}
	for _, want := range []string{"libonnxruntime_providers_shared.so", "libonnxruntime_providers_cuda.so"} {
		if !slices.Contains(names, want) {
			t.Errorf("libraries %v lack %s", names, want)
		}
	}
}
