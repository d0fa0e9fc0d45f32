package testenv

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/vitrinehq/vitrine/models"
)

// ModelFile is one file of a model a test installs.
type ModelFile struct {
	Name string
	Data []byte
}

// InstallModel lays a model's files out as the fetcher would
// (<dir>/<name>/<version>/<file>), pins them in the manifest (sha256, local
// source), writes the manifest as <dir>/<name>.yaml and loads it back through
// models.LoadFile, so tests see exactly what a manifest on disk gives. dir
// serves as both the manifest and the model directory.
func InstallModel(t testing.TB, dir string, m models.Manifest, files ...ModelFile) models.Manifest {
	t.Helper()
	fdir := filepath.Join(dir, m.Name, m.Version)
	if err := os.MkdirAll(fdir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(fdir, f.Name), f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(f.Data)
		h := hex.EncodeToString(sum[:])
		m.Files = append(m.Files, models.File{Name: f.Name, SHA256: h,
			Source: models.Source{Local: filepath.Join(m.Name, m.Version, f.Name), SHA256: h}})
	}
	doc, err := yaml.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, m.Name+".yaml")
	if err := os.WriteFile(path, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	loaded, err := models.LoadFile(path)
	if err != nil {
		t.Fatalf("manifest:\n%s\n%v", doc, err)
	}
	return loaded
}
