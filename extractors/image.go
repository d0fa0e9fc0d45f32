package extractors

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"

	"github.com/vitrinehq/vitrine/extractors/imageprep"
	"github.com/vitrinehq/vitrine/extractors/onnx"
	"github.com/vitrinehq/vitrine/models"
	"golang.org/x/sync/errgroup"
)

// imageEncoder prepares images (decode, resize, crop, normalise) and runs a
// CNN or ViT, pooling its embedding output.
type imageEncoder struct {
	m      models.Manifest
	prep   *imageprep.Preparer
	sess   *onnx.Session
	logits string // optional classification output, for Classify
	flip   bool   // also encode the mirror image and average (augment: flip)
	// regionCount is how many regions of each image are encoded and
	// averaged: 1, 2 (augment: centre) or imageprep.CropCount (crops).
	regionCount int
	// workers bounds the goroutines decoding one batch (Options.PrepWorkers).
	workers int
}

func openImage(ctx context.Context, rt *onnx.Runtime, m models.Manifest, dir string, o Options) (*imageEncoder, error) {
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
	return &imageEncoder{m: m, prep: prep, sess: sess, logits: logits, flip: slices.Contains(m.Augment, models.AugmentFlip),
		regionCount: augmentRegions(m.Augment), workers: o.PrepWorkers}, nil
}

// augmentRegions is how many regions of an image the augmentations
// encode: all the crops, the whole image and its centre, or the whole.
func augmentRegions(augment []string) int {
	switch {
	case slices.Contains(augment, models.AugmentCrops):
		return imageprep.CropCount
	case slices.Contains(augment, models.AugmentCentre):
		return 2
	}
	return 1
}

// augmentCropScale is the side of augment: crops' and centre's squares, a
// fraction of the image's shorter side.
const augmentCropScale = 0.7

// regions is how many tensors one image prepares into.
func (e *imageEncoder) regions() int { return max(e.regionCount, 1) }

// imageBatch is a batch prepared for the graph: the input tensor of the
// valid images, their input positions, and per-input errors.
type imageBatch struct {
	in   onnx.Tensor // zero when no image was valid
	idx  []int
	errs []error
}

// run prepares the valid images into one batch tensor and runs the graph.
func (e *imageEncoder) run(ctx context.Context, inputs [][]byte) ([]onnx.Tensor, []int, []error, error) {
	b, err := e.prepareBatch(ctx, inputs)
	if err != nil {
		return nil, nil, nil, err
	}
	if len(b.idx) == 0 {
		return nil, nil, b.errs, nil
	}
	outs, err := e.sess.Run(ctx, []onnx.Tensor{b.in})
	if err != nil {
		return nil, nil, nil, err
	}
	return outs, b.idx, b.errs, nil
}

// prepareBatch decodes and normalises the images into one batch tensor,
// the valid ones first in input order (each as its crops when the manifest
// augments by cropping), then their mirror images when it augments by
// flipping.
func (e *imageEncoder) prepareBatch(ctx context.Context, inputs [][]byte) (imageBatch, error) {
	errs := make([]error, len(inputs))
	per := e.prep.Len() * e.regions() // values per input image
	copies := 1
	if e.flip {
		copies = 2
	}
	buf := make([]float32, per*len(inputs)*copies)
	if err := e.prepareAll(ctx, inputs, buf, errs); err != nil {
		return imageBatch{}, err
	}
	// Compact the prepared images to the front, in input order.
	var idx []int
	for i := range inputs {
		if errs[i] == nil {
			n := len(idx)
			copy(buf[n*per:(n+1)*per], buf[i*per:(i+1)*per])
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return imageBatch{errs: errs}, nil
	}
	buf = buf[:len(idx)*per]
	shape := e.prep.Shape()
	if e.flip {
		// The mirror images follow the plain ones in the same batch.
		n := len(buf)
		buf = buf[:2*n]
		mirror(buf[n:], buf[:n], int(shape[len(shape)-1]))
	}
	shape[0] = int64(len(idx) * e.regions() * copies)
	return imageBatch{in: onnx.Float32Tensor(shape, buf), idx: idx, errs: errs}, nil
}

// prepareAll decodes and normalises each input into its own window of buf
// (its crops' tensors one after the other under augment: crops or centre),
// up to Options.PrepWorkers at a time: decoding is the costly part of a photo batch
// and one slow upload must not hold the others. Per-input failures land in
// errs; the returned error is the context's.
func (e *imageEncoder) prepareAll(ctx context.Context, inputs [][]byte, buf []float32, errs []error) error {
	per := e.prep.Len() * e.regions()
	var g errgroup.Group
	g.SetLimit(max(e.workers, 1))
	for i, in := range inputs {
		g.Go(func() error {
			if e.regions() > 1 {
				errs[i] = e.prep.PrepareCrops(ctx, in, augmentCropScale, e.regions(), buf[i*per:(i+1)*per])
			} else {
				_, errs[i] = e.prep.Prepare(ctx, in, buf[i*per:(i+1)*per])
			}
			return nil
		})
	}
	_ = g.Wait()
	return ctx.Err()
}

// prepare decodes the batch; the returned run feeds the model and pools.
func (e *imageEncoder) prepare(ctx context.Context, inputs [][]byte) (runFunc, error) {
	b, err := e.prepareBatch(ctx, inputs)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) ([][]float32, []error, error) {
		vecs := make([][]float32, len(inputs))
		if len(b.idx) == 0 {
			return vecs, b.errs, nil
		}
		outs, err := e.sess.Run(ctx, []onnx.Tensor{b.in})
		if err != nil {
			return nil, nil, err
		}
		pooled, err := pool(e.m, outs[0], nil, 0)
		if err != nil {
			return nil, nil, err
		}
		if e.flip {
			pooled = averageHalves(pooled)
		}
		pooled = averageGroups(pooled, e.regions())
		for j, i := range b.idx {
			vecs[i] = pooled[j]
		}
		return vecs, b.errs, nil
	}, nil
}

func (e *imageEncoder) provider() onnx.Provider { return e.sess.Provider() }

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
	// The first row is the whole image's (its crops and mirror images,
	// when augmented, follow).
	logits := outs[1].Float32s()
	copies := 1
	if ie.flip {
		copies = 2
	}
	return logits[:len(logits)/(ie.regions()*copies)], nil
}

// mirror writes src's images mirrored left to right into dst: both hold
// whole images whose innermost axis is the width w (NCHW rows).
func mirror(dst, src []float32, w int) {
	for r := 0; r+w <= len(src); r += w {
		row, out := src[r:r+w], dst[r:r+w]
		for x := range w {
			out[x] = row[w-1-x]
		}
	}
}

// averageHalves averages vector i of the first half with vector i of the
// second (an image and its augmented copy).
func averageHalves(vs [][]float32) [][]float32 {
	n := len(vs) / 2
	out := vs[:n]
	for i := range n {
		for k, x := range vs[n+i] {
			out[i][k] = (out[i][k] + x) / 2
		}
	}
	return out
}

// averageGroups averages each run of n consecutive vectors (an image's
// crops) into the first of them and returns one vector per run.
func averageGroups(vs [][]float32, n int) [][]float32 {
	if n <= 1 {
		return vs
	}
	out := vs[:len(vs)/n]
	for g := range out {
		sum := vs[g*n]
		for _, v := range vs[g*n+1 : (g+1)*n] {
			for k, x := range v {
				sum[k] += x
			}
		}
		for k := range sum {
			sum[k] /= float32(n)
		}
		out[g] = sum
	}
	return out
}

// spatialGeM pools a [N,C,H,W] feature map by the generalised mean over
// H×W, (mean x^p)^(1/p), with p = the manifest's pooling_p (default 3):
// it weighs the strongest activations of each channel more than the plain
// mean does, which helps retrieval of an object in clutter. Activations
// are clamped at a small positive floor first.
func spatialGeM(m models.Manifest, shape []int64, data []float32) ([][]float32, error) {
	if len(shape) != 4 {
		return nil, fmt.Errorf("model %s: pooling %s needs a [N,C,H,W] output, got %v", m.Key(), m.Pooling, shape)
	}
	p := m.PoolingP
	if p == 0 {
		p = 3
	}
	n, c, hw := int(shape[0]), int(shape[1]), int(shape[2]*shape[3])
	res := make([][]float32, n)
	for i := range n {
		v := make([]float32, c)
		for ch := range c {
			var s float64
			for _, x := range data[(i*c+ch)*hw : (i*c+ch+1)*hw] {
				s += math.Pow(math.Max(float64(x), 1e-6), p)
			}
			v[ch] = float32(math.Pow(s/float64(hw), 1/p))
		}
		res[i] = v
	}
	return res, nil
}

// CropEncoder is implemented by image encoders: multi-crop test-time
// augmentation of a query photo.
type CropEncoder interface {
	// EncodeCrops encodes the photo's imageprep.Crops at scale (the whole
	// photo, its centre and four corners, squares of scale × the shorter
	// side) in one model run and returns their normalised vectors in that
	// order (each averaged with its mirror image's when the manifest
	// augments by flipping).
	EncodeCrops(ctx context.Context, image []byte, scale float64) ([][]float32, error)
}

// EncodeCrops implements CropEncoder. It bypasses the dynamic batcher (its
// crops are a batch already) but takes turns with its model runs.
func (b *batched) EncodeCrops(ctx context.Context, image []byte, scale float64) ([][]float32, error) {
	ie, ok := b.core.(*imageEncoder)
	if !ok {
		return nil, fmt.Errorf("model %s does not encode images", b.m.Key())
	}
	in, err := ie.prepareCrops(ctx, image, scale)
	if err != nil {
		return nil, err
	}
	b.runMu.Lock()
	outs, err := ie.sess.Run(ctx, []onnx.Tensor{in})
	b.runMu.Unlock()
	if err != nil {
		return nil, err
	}
	vecs, err := pool(ie.m, outs[0], nil, 0)
	if err != nil {
		return nil, err
	}
	if ie.flip {
		vecs = averageHalves(vecs)
	}
	errs := make([]error, len(vecs))
	b.finish(vecs, errs)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return vecs, nil
}

// prepareCrops is the batch tensor of one photo's crops, followed by
// their mirror images when the manifest augments by flipping.
func (e *imageEncoder) prepareCrops(ctx context.Context, image []byte, scale float64) (onnx.Tensor, error) {
	per, n := e.prep.Len(), imageprep.CropCount
	copies := 1
	if e.flip {
		copies = 2
	}
	buf := make([]float32, per*n*copies)
	if err := e.prep.PrepareCrops(ctx, image, scale, n, buf[:per*n]); err != nil {
		return onnx.Tensor{}, err
	}
	shape := e.prep.Shape()
	if e.flip {
		mirror(buf[per*n:], buf[:per*n], int(shape[len(shape)-1]))
	}
	shape[0] = int64(n * copies)
	return onnx.Float32Tensor(shape, buf), nil
}
