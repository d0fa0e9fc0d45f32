// Package extractors turns product text, images and audio into vectors by
// running the models that manifests describe through ONNX Runtime: one
// encoder per manifest, with preprocessing, pooling, normalisation and
// dynamic batching of concurrent callers.
package extractors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"time"

	"github.com/vitrinehq/vitrine/extractors/encerr"
	"github.com/vitrinehq/vitrine/extractors/onnx"
	"github.com/vitrinehq/vitrine/models"
)

// Errors an encoder returns for bad input, per item.
var (
	// ErrEmptyInput is encerr.ErrEmptyInput: nothing to encode (empty
	// text, no known token, too short a clip). The same value, so callers
	// that cannot import this package match it through encerr.
	ErrEmptyInput = encerr.ErrEmptyInput
	// ErrUnknownModel means no manifest of that name is loaded.
	ErrUnknownModel = errors.New("unknown model")
	// ErrUnsupportedFamily means a manifest names a family with no code path.
	ErrUnsupportedFamily = errors.New("unsupported model family")
)

// Encoder is one loaded model.
type Encoder interface {
	Manifest() models.Manifest
	Key() string
	Modality() models.Modality
	Dim() int
	// EncodeBatch encodes several inputs at once (UTF-8 text, or file
	// bytes): one vector per input, a per-input error for bad input, and err
	// when the whole call failed.
	EncodeBatch(ctx context.Context, inputs [][]byte) (vecs [][]float32, errs []error, err error)
	// Encode encodes one input; concurrent callers are coalesced into
	// batches, and a full queue answers onnx.ErrOverloaded.
	Encode(ctx context.Context, input []byte) ([]float32, error)
	Close() error
}

// Options configure Load.
type Options struct {
	MaxBatch  int           // items per model run (default 32)
	MaxWait   time.Duration // how long a single Encode waits for company (default 5ms)
	QueueSize int           // waiting Encode calls before ErrOverloaded (default 1024)
	Metrics   onnx.Metrics  // batching metrics, may be nil
	Logger    *slog.Logger
}

func (o *Options) defaults() {
	if o.MaxBatch <= 0 {
		o.MaxBatch = 32
	}
	if o.MaxWait <= 0 {
		o.MaxWait = 5 * time.Millisecond
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 1024
	}
	if o.Metrics == nil {
		o.Metrics = onnx.NopMetrics{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Open loads the model a manifest describes from modelDir (files under
// <modelDir>/<name>/<version>/).
func Open(ctx context.Context, rt *onnx.Runtime, m models.Manifest, modelDir string, o Options) (Encoder, error) {
	o.defaults()
	dir := filepath.Join(modelDir, m.Name, m.Version)
	var (
		core batchEncoder
		err  error
	)
	switch m.Family {
	case "static_embedding", "bert", "clip_text":
		core, err = openText(ctx, rt, m, dir, o)
	case "cnn", "vit", "clip_vision":
		core, err = openImage(ctx, rt, m, dir, o)
	case "speech_embedding":
		core, err = openAudio(ctx, rt, m, dir, o)
	default:
		return nil, fmt.Errorf("%w: %s (model %s)", ErrUnsupportedFamily, m.Family, m.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", m.Key(), err)
	}
	return newBatched(m, core, o)
}

// batchEncoder is what each family implements: a whole batch in, one
// vector (or one error) per item out.
type batchEncoder interface {
	encode(ctx context.Context, inputs [][]byte) ([][]float32, []error, error)
	close() error
}

// batched adds chunking to MaxBatch, normalisation and the dynamic batcher
// around a family's batch encoder.
type batched struct {
	m       models.Manifest
	core    batchEncoder
	max     int
	batcher *onnx.Batcher[[]byte, []float32]
}

func newBatched(m models.Manifest, core batchEncoder, o Options) (*batched, error) {
	b := &batched{m: m, core: core, max: o.MaxBatch}
	bt, err := onnx.NewBatcher(func(ctx context.Context, items [][]byte) ([][]float32, error) {
		vecs, errs, err := b.EncodeBatch(ctx, items)
		if err != nil {
			return nil, err
		}
		for _, e := range errs {
			if e != nil {
				return vecs, &onnx.PartialError{Errs: errs}
			}
		}
		return vecs, nil
	}, onnx.WithMaxBatch(o.MaxBatch), onnx.WithMaxWait(o.MaxWait), onnx.WithQueueSize(o.QueueSize),
		onnx.WithMetrics(o.Metrics), onnx.WithBatcherLogger(o.Logger))
	if err != nil {
		core.close()
		return nil, err
	}
	b.batcher = bt
	return b, nil
}

func (b *batched) Manifest() models.Manifest { return b.m }
func (b *batched) Key() string               { return b.m.Key() }
func (b *batched) Modality() models.Modality { return b.m.Modality }
func (b *batched) Dim() int                  { return b.m.Dim }

func (b *batched) EncodeBatch(ctx context.Context, inputs [][]byte) ([][]float32, []error, error) {
	vecs := make([][]float32, len(inputs))
	errs := make([]error, len(inputs))
	for lo := 0; lo < len(inputs); lo += b.max {
		hi := min(lo+b.max, len(inputs))
		v, e, err := b.core.encode(ctx, inputs[lo:hi])
		if err != nil {
			return nil, nil, err
		}
		copy(vecs[lo:hi], v)
		copy(errs[lo:hi], e)
	}
	for i, v := range vecs {
		if errs[i] != nil {
			vecs[i] = nil
			continue
		}
		if len(v) != b.m.Dim {
			errs[i] = fmt.Errorf("model %s produced %d dimensions, manifest says %d", b.m.Key(), len(v), b.m.Dim)
			vecs[i] = nil
			continue
		}
		if isZero(v) {
			// A static-embedding model gives zeros for text with no known
			// word; fusion must treat that as no text, not as a direction.
			errs[i] = fmt.Errorf("%w: model %s produced a zero vector (no known tokens?)", ErrEmptyInput, b.m.Key())
			vecs[i] = nil
			continue
		}
		if b.m.Normalize == "l2" {
			normalize(v)
		}
	}
	return vecs, errs, nil
}

func (b *batched) Encode(ctx context.Context, input []byte) ([]float32, error) {
	return b.batcher.Submit(ctx, input)
}

func (b *batched) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return errors.Join(b.batcher.Close(ctx), b.core.close())
}

func isZero(v []float32) bool {
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
}

func normalize(v []float32) {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		return
	}
	inv := 1 / math.Sqrt(s)
	for i := range v {
		v[i] = float32(float64(v[i]) * inv)
	}
}

// tensorName returns the graph tensor for a role, failing clearly.
func tensorName(m models.Manifest, roles map[string]string, role, kind string) (string, error) {
	n, ok := roles[role]
	if !ok || n == "" {
		return "", fmt.Errorf("manifest %s: %s role %q missing", m.Name, kind, role)
	}
	return n, nil
}

// Set is the encoders a process uses, by model key.
type Set struct {
	byKey map[string]Encoder
	order []Encoder
}

// LoadSet opens the named manifests (empty names are skipped).
func LoadSet(ctx context.Context, rt *onnx.Runtime, ms []models.Manifest, modelDir string, names []string, o Options) (*Set, error) {
	s := &Set{byKey: map[string]Encoder{}}
	for _, name := range names {
		if name == "" {
			continue
		}
		m, ok := models.Find(ms, name)
		if !ok {
			s.Close()
			return nil, fmt.Errorf("%w: %q (manifests: %v)", ErrUnknownModel, name, manifestNames(ms))
		}
		e, err := Open(ctx, rt, m, modelDir, o)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.byKey[e.Key()] = e
		s.order = append(s.order, e)
	}
	return s, nil
}

func manifestNames(ms []models.Manifest) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Name
	}
	return out
}

// Encoders lists the loaded encoders in load order.
func (s *Set) Encoders() []Encoder { return s.order }

// ByKey returns the encoder of a model key (name@version).
func (s *Set) ByKey(key string) (Encoder, bool) {
	e, ok := s.byKey[key]
	return e, ok
}

// ByModality returns the first loaded encoder of a modality.
func (s *Set) ByModality(m models.Modality) (Encoder, bool) {
	for _, e := range s.order {
		if e.Modality() == m {
			return e, true
		}
	}
	return nil, false
}

// Close releases every encoder.
func (s *Set) Close() error {
	var errs []error
	for _, e := range s.order {
		errs = append(errs, e.Close())
	}
	return errors.Join(errs...)
}
