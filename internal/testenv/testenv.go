// Package testenv gives tests the real ONNX Runtime and the real model
// files that scripts/setup installs under the module's .vitrine directory.
// A missing piece fails the test with the command that provides it.
package testenv

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/vitrinehq/vitrine/extractors/onnx"
	"github.com/vitrinehq/vitrine/internal/testdb"
	"github.com/vitrinehq/vitrine/models"
)

// Home is the module's .vitrine directory (or VITRINE_HOME).
func Home(t testing.TB) string {
	t.Helper()
	if h := os.Getenv("VITRINE_HOME"); h != "" {
		return h
	}
	root, err := testdb.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(root, ".vitrine")
}

// Root is the module root.
func Root(t testing.TB) string {
	t.Helper()
	root, err := testdb.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// ModelDir is where scripts/setup put the prepared models.
func ModelDir(t testing.TB) string { return filepath.Join(Home(t), "models") }

// Manifests loads the project's model manifests.
func Manifests(t testing.TB) []models.Manifest {
	t.Helper()
	ms, err := models.Load(filepath.Join(Root(t), "models"))
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// Manifest returns one manifest by name, checking its files are fetched.
func Manifest(t testing.TB, name string) models.Manifest {
	t.Helper()
	m, ok := models.Find(Manifests(t), name)
	if !ok {
		t.Fatalf("no manifest %q in models/", name)
	}
	for _, f := range m.Files {
		p := filepath.Join(ModelDir(t), m.Name, m.Version, f.Name)
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("model file %s missing: run scripts/setup (or bin/vitrine models fetch): %v", p, err)
		}
	}
	return m
}

// shared holds the one runtime of a test binary: ONNX Runtime's
// environment is process-wide, so tests share it rather than churn it.
var shared struct {
	once sync.Once
	rt   *onnx.Runtime
	err  error
}

// Runtime returns the process's CPU runtime, created on first use.
func Runtime(t testing.TB) *onnx.Runtime {
	t.Helper()
	lib := filepath.Join(Home(t), "lib", "libonnxruntime.so.1")
	shared.once.Do(func() {
		shared.rt, shared.err = onnx.NewRuntime(context.Background(), onnx.WithLibraryPath(lib), onnx.WithProvider(onnx.ProviderCPU))
	})
	if shared.err != nil {
		t.Fatalf("ONNX Runtime from %s (run scripts/setup): %v", lib, shared.err)
	}
	return shared.rt
}
