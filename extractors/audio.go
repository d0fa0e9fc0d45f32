package extractors

import (
	"context"
	"fmt"

	"github.com/vitrinehq/vitrine/extractors/onnx"
	"github.com/vitrinehq/vitrine/models"
)

func openAudio(ctx context.Context, rt *onnx.Runtime, m models.Manifest, dir string, _ Options) (batchEncoder, error) {
	return nil, fmt.Errorf("%w: speech_embedding pending audioprep", ErrUnsupportedFamily)
}
