package models

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"testing"
)

func TestFetchRuntimesWithoutManifest(t *testing.T) {
	f := NewFetcher(WithModelDir(t.TempDir()))
	other := Runtime{Name: "onnxruntime", Version: "1", Platform: "plan9/mips"}
	tests := []struct {
		name string
		rts  []Runtime
		gpu  bool
	}{
		{"none at all", nil, false},
		{"only another platform's", []Runtime{other}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := f.FetchRuntimes(context.Background(), tc.rts, func(Runtime) string { return filepath.Join(t.TempDir(), "lib.so") }, tc.gpu)
			if !errors.Is(err, ErrNoRuntime) || len(res) != 0 {
				t.Fatalf("FetchRuntimes = %v, %v; want ErrNoRuntime and nothing fetched", res, err)
			}
		})
	}
}

func TestRuntimeLibrariesInstalledMissing(t *testing.T) {
	r := Runtime{Name: "onnxruntime", Version: "1", Platform: runtime.GOOS + "/" + runtime.GOARCH,
		File: File{Name: "libonnxruntime.so.1", SHA256: "00"}}
	ok, err := RuntimeLibrariesInstalled(r, filepath.Join(t.TempDir(), "libonnxruntime.so.1"))
	if err != nil || ok {
		t.Fatalf("RuntimeLibrariesInstalled of a missing file = %v, %v; want false, nil", ok, err)
	}
}
