package extractors

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/vitrinehq/vitrine/extractors/imageprep"
	"github.com/vitrinehq/vitrine/extractors/onnx"
	"github.com/vitrinehq/vitrine/models"
)

// imageEncoder prepares images (decode, resize, crop, normalise) and runs a
// CNN or ViT, pooling its embedding output.
type imageEncoder struct {
	m      models.Manifest
	prep   *imageprep.Preparer
	sess   *onnx.Session
	logits string // optional classification output, for Classify
}

func openImage(ctx context.Context, rt *onnx.Runtime, m models.Manifest, dir string, _ Options) (*imageEncoder, error) {
	if m.Preprocess.Image == nil {
		return nil, fmt.Errorf("manifest %s: preprocess.image missing", m.Name)
	}
	prep, err := imageprep.New(*m.Preprocess.Image)
	if err != nil {
		return nil, err
	}
	in, err := tensorName(m, m.Inputs, "pixel_values", "input")
	if err != nil {
		return nil, err
	}
	out, err := tensorName(m, m.Outputs, "embedding", "output")
	if err != nil {
		return nil, err
	}
	outs := []string{out}
	logits := m.Outputs["logits"]
	if logits != "" {
		outs = append(outs, logits)
	}
	sess, err := rt.OpenSession(ctx, filepath.Join(dir, m.Graph()), onnx.WithInputNames(in), onnx.WithOutputNames(outs...))
	if err != nil {
		return nil, err
	}
	return &imageEncoder{m: m, prep: prep, sess: sess, logits: logits}, nil
}

// run prepares the valid images into one batch tensor and runs the graph.
func (e *imageEncoder) run(ctx context.Context, inputs [][]byte) ([]onnx.Tensor, []int, []error, error) {
	errs := make([]error, len(inputs))
	per := e.prep.Len()
	buf := make([]float32, 0, per*len(inputs))
	var idx []int
	for i, in := range inputs {
		v, err := e.prep.Prepare(ctx, in, buf[len(buf):len(buf)+per])
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, nil, ctx.Err()
			}
			errs[i] = err
			continue
		}
		buf = buf[:len(buf)+len(v)]
		idx = append(idx, i)
	}
	if len(idx) == 0 {
		return nil, nil, errs, nil
	}
	shape := e.prep.Shape()
	shape[0] = int64(len(idx))
	outs, err := e.sess.Run(ctx, []onnx.Tensor{onnx.Float32Tensor(shape, buf)})
	if err != nil {
		return nil, nil, nil, err
	}
	return outs, idx, errs, nil
}

func (e *imageEncoder) encode(ctx context.Context, inputs [][]byte) ([][]float32, []error, error) {
	outs, idx, errs, err := e.run(ctx, inputs)
	if err != nil || outs == nil {
		return make([][]float32, len(inputs)), errs, err
	}
	pooled, err := pool(e.m, outs[0], nil, 0)
	if err != nil {
		return nil, nil, err
	}
	vecs := make([][]float32, len(inputs))
	for j, i := range idx {
		vecs[i] = pooled[j]
	}
	return vecs, errs, nil
}

func (e *imageEncoder) close() error { return e.sess.Close() }

// Classifier is implemented by image encoders whose manifest names a
// logits output (an ImageNet head, for instance).
type Classifier interface {
	Classify(ctx context.Context, image []byte) ([]float32, error)
}

// Classify returns the classification logits of one image.
func (b *batched) Classify(ctx context.Context, image []byte) ([]float32, error) {
	ie, ok := b.core.(*imageEncoder)
	if !ok || ie.logits == "" {
		return nil, fmt.Errorf("model %s has no logits output", b.m.Key())
	}
	outs, _, errs, err := ie.run(ctx, [][]byte{image})
	if err != nil {
		return nil, err
	}
	if errs[0] != nil {
		return nil, errs[0]
	}
	return outs[1].Float32s(), nil
}
