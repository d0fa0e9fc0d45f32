package verify

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/vitrinehq/vitrine/extractors"
)

func TestResolve(t *testing.T) {
	manifests := filepath.Join("..", "..", "models")
	withFiles := t.TempDir()
	b, err := os.ReadFile(filepath.Join(manifests, "glove-100d.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	copied := filepath.Join(withFiles, "glove-100d.yaml")
	if err := os.WriteFile(copied, b, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, arg, wantDir string
		err                error
	}{
		{"manifest name", "glove-100d", "MODELDIR", nil},
		{"manifest file without its files beside it", copied, "MODELDIR", nil},
		{"unknown name", "no-such-model", "", extractors.ErrUnknownModel},
		{"missing file", filepath.Join(withFiles, "none.yaml"), "", os.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, dir, err := Resolve(tt.arg, manifests, "MODELDIR")
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Errorf("error %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil || m.Name != "glove-100d" || dir != tt.wantDir {
				t.Errorf("Resolve = %s, %q, %v", m.Key(), dir, err)
			}
		})
	}
	// A manifest whose graph sits beside it (quantize's layout) is read
	// from there.
	m, _, _ := Resolve(copied, manifests, "MODELDIR")
	graph := filepath.Join(withFiles, m.Name, m.Version, m.Graph())
	if err := os.MkdirAll(filepath.Dir(graph), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(graph, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, dir, err := Resolve(copied, manifests, "MODELDIR"); err != nil || dir != withFiles {
		t.Errorf("beside: %q, %v", dir, err)
	}
}
