// Package extractors turns product text, images and audio into vectors by
// running the models that manifests describe through ONNX Runtime: one
// encoder per manifest, with preprocessing, pooling, normalisation and
// dynamic batching of concurrent callers. Where the model runs on a GPU,
// preprocessing (decoding, tokenising, mel frames) of one model batch
// overlaps the model run of the previous one (see Overlap).
package extractors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"runtime"
	"sync"
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
	// PrepWorkers bounds the goroutines decoding the images of one batch
	// (default GOMAXPROCS).
	PrepWorkers int
	// Overlap says whether the next model batch is pre-processed while the
	// current one runs (default OverlapAuto).
	Overlap Overlap
	Metrics onnx.Metrics // batching metrics, may be nil
	Logger  *slog.Logger
}

// Overlap selects whether pre-processing (decoding, tokenising, mel frames)
// of the next model batch runs during the model run of the current one, in
// EncodeBatch calls larger than MaxBatch and in the dynamic batcher.
type Overlap int

// Overlap settings.
const (
	// OverlapAuto overlaps when the model runs on a GPU, where the CPU is
	// otherwise idle during the run, and not on the CPU provider, where
	// ONNX Runtime's intra-op threads already use every core. Measured on
	// 2 cores (BenchmarkOverlap, medians of 3): overlapping kept 0.81 of
	// the sequential speed for 64 shop photos (276 against 340 items/s),
	// 0.68 for GloVe text, and gained only 1.06x for 12-megapixel photos,
	// whose decoding dominates: decoding goroutines preempt ORT threads
	// and every parallel operator waits for its slowest thread.
	OverlapAuto Overlap = iota
	// OverlapOn always overlaps (CPU too: worth measuring when ORT is
	// given fewer intra-op threads than there are cores).
	OverlapOn
	// OverlapOff never overlaps: prepare, run, prepare, run.
	OverlapOff
)

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
	if o.PrepWorkers <= 0 {
		o.PrepWorkers = runtime.GOMAXPROCS(0)
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

// batchEncoder is what each family implements, in two stages so that the
// CPU work of one batch can overlap the model run of another: prepare
// decodes or tokenises a whole batch (per-input failures are kept for the
// run's result; its error fails the call), and the run it returns feeds
// the model and pools, one vector (or one error) per item.
type batchEncoder interface {
	prepare(ctx context.Context, inputs [][]byte) (runFunc, error)
	// provider is where the model runs (its main session's provider).
	provider() onnx.Provider
	close() error
}

// runFunc is the model stage of a prepared batch.
type runFunc func(ctx context.Context) ([][]float32, []error, error)

// batched adds chunking to MaxBatch, normalisation and the dynamic batcher
// around a family's batch encoder, and overlaps pre-processing with the
// model: EncodeBatch prepares chunk N+1 while chunk N runs, and the
// batcher's two workers prepare one batch while the other's runs.
type batched struct {
	m       models.Manifest
	core    batchEncoder
	max     int
	overlap bool
	batcher *onnx.Batcher[[]byte, []float32]
	// runMu keeps the batcher's workers to one model run at a time: the
	// model already uses every core, so two runs would only fight; what
	// the second worker overlaps is its pre-processing.
	runMu sync.Mutex
}

func newBatched(m models.Manifest, core batchEncoder, o Options) (*batched, error) {
	overlap := o.Overlap == OverlapOn || (o.Overlap == OverlapAuto && core.provider() == onnx.ProviderCUDA)
	workers := 1
	if overlap {
		workers = 2
	}
	b := &batched{m: m, core: core, max: o.MaxBatch, overlap: overlap}
	bt, err := onnx.NewBatcher(func(ctx context.Context, items [][]byte) ([][]float32, error) {
		vecs, errs, err := b.encodeChunk(ctx, items, &b.runMu)
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
		onnx.WithWorkers(workers), onnx.WithMetrics(o.Metrics), onnx.WithBatcherLogger(o.Logger))
	if err != nil {
		core.close()
		return nil, err
	}
	b.batcher = bt
	return b, nil
}

// encodeChunk prepares and runs one model batch (at most MaxBatch items),
// holding mu around the run, and checks and normalises its vectors.
func (b *batched) encodeChunk(ctx context.Context, inputs [][]byte, mu *sync.Mutex) ([][]float32, []error, error) {
	run, err := b.core.prepare(ctx, inputs)
	if err != nil {
		return nil, nil, err
	}
	mu.Lock()
	vecs, errs, err := run(ctx)
	mu.Unlock()
	if err != nil {
		return nil, nil, err
	}
	b.finish(vecs, errs)
	return vecs, errs, nil
}

func (b *batched) Manifest() models.Manifest { return b.m }
func (b *batched) Key() string               { return b.m.Key() }
func (b *batched) Modality() models.Modality { return b.m.Modality }
func (b *batched) Dim() int                  { return b.m.Dim }

// EncodeBatch encodes inputs in model batches of at most MaxBatch, the
// pre-processing of each chunk overlapping the model run of the one before
// when overlap is on.
func (b *batched) EncodeBatch(ctx context.Context, inputs [][]byte) ([][]float32, []error, error) {
	if len(inputs) <= b.max || !b.overlap {
		return b.encodeSequential(ctx, inputs)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops a chunk still preparing when a run fails
	type prepared struct {
		run runFunc
		err error
	}
	start := func(lo int) <-chan prepared {
		ch := make(chan prepared, 1)
		go func() {
			run, err := b.core.prepare(ctx, inputs[lo:min(lo+b.max, len(inputs))])
			ch <- prepared{run, err}
		}()
		return ch
	}
	vecs := make([][]float32, len(inputs))
	errs := make([]error, len(inputs))
	next := start(0)
	for lo := 0; lo < len(inputs); lo += b.max {
		p := <-next
		if lo+b.max < len(inputs) {
			next = start(lo + b.max)
		}
		if p.err != nil {
			return nil, nil, p.err
		}
		v, e, err := p.run(ctx)
		if err != nil {
			return nil, nil, err
		}
		copy(vecs[lo:], v)
		copy(errs[lo:], e)
	}
	b.finish(vecs, errs)
	return vecs, errs, nil
}

// encodeSequential prepares and runs one chunk after the other.
func (b *batched) encodeSequential(ctx context.Context, inputs [][]byte) ([][]float32, []error, error) {
	var mu sync.Mutex // no one else runs this call's chunks
	if len(inputs) <= b.max {
		return b.encodeChunk(ctx, inputs, &mu)
	}
	vecs := make([][]float32, len(inputs))
	errs := make([]error, len(inputs))
	for lo := 0; lo < len(inputs); lo += b.max {
		v, e, err := b.encodeChunk(ctx, inputs[lo:min(lo+b.max, len(inputs))], &mu)
		if err != nil {
			return nil, nil, err
		}
		copy(vecs[lo:], v)
		copy(errs[lo:], e)
	}
	return vecs, errs, nil
}

// finish checks each vector's size, turns zero vectors into ErrEmptyInput
// and normalises in place as the manifest says.
func (b *batched) finish(vecs [][]float32, errs []error) {
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
