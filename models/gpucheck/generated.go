package gpucheck

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/vitrinehq/vitrine/internal/onnxgen"
)

// GeneratedSeed seeds the weights of the generated models a check runs.
const GeneratedSeed = 1

// GeneratedPresets are the generated models a check runs after the
// configured ones: the all-MiniLM-L6-v2 and ViT-B/16 sizes, the text and
// image encoders users deploy most.
func GeneratedPresets() []onnxgen.Preset {
	var out []onnxgen.Preset
	for _, p := range onnxgen.Presets() {
		if p.Name == "minilm" || p.Name == "vit-b16" {
			out = append(out, p)
		}
	}
	return out
}

// InstallGenerated builds (or reuses) each preset under
// <modelDir>/generated, as `vitrine bench extract --generated` does, and
// returns them as check targets. Their weights are random: a check of them
// measures speed and CPU/CUDA agreement, nothing else.
func InstallGenerated(ctx context.Context, modelDir string, presets []onnxgen.Preset) ([]Target, error) {
	out := make([]Target, 0, len(presets))
	for _, p := range presets {
		in, err := onnxgen.Install(ctx, filepath.Join(modelDir, onnxgen.GeneratedDir), p, GeneratedSeed)
		if err != nil {
			return nil, fmt.Errorf("generated model %s: %w", p.Name, err)
		}
		out = append(out, Target{M: in.Manifest, Dir: in.ModelDir})
	}
	return out, nil
}
