package verify

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/models"
)

// Resolve reads a model argument of the models commands: a manifest name
// in manifestDir, whose files are in modelDir; or the path of a manifest
// file, whose files are looked for beside it first (the layout quantize
// writes: DIR/NAME.yaml and DIR/NAME/VERSION/), then in modelDir. It
// returns the manifest and the directory holding its files; an unknown
// name is extractors.ErrUnknownModel.
func Resolve(arg, manifestDir, modelDir string) (models.Manifest, string, error) {
	if strings.HasSuffix(arg, ".yaml") || strings.HasSuffix(arg, ".yml") || strings.ContainsRune(arg, os.PathSeparator) {
		m, err := models.LoadFile(arg)
		if err != nil {
			return m, "", err
		}
		if _, err := os.Stat(filepath.Join(m.Dir, m.Name, m.Version, m.Graph())); err == nil {
			return m, m.Dir, nil
		}
		return m, modelDir, nil
	}
	ms, err := models.Load(manifestDir)
	if err != nil {
		return models.Manifest{}, "", err
	}
	m, ok := models.Find(ms, arg)
	if !ok {
		return m, "", fmt.Errorf("%w: no model %q in %s (give a manifest name or a manifest file path)", extractors.ErrUnknownModel, arg, manifestDir)
	}
	return m, modelDir, nil
}
