package throughput

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/vitrinehq/vitrine/extractors/audioprep"
	"github.com/vitrinehq/vitrine/extractors/imageprep"
	"github.com/vitrinehq/vitrine/extractors/tokenizer"
	"github.com/vitrinehq/vitrine/models"
)

// Threads are the ONNX Runtime thread settings of the encoders' Runtime
// (ort.intra_op_threads, ort.inter_op_threads); bare sessions copy them so
// that both paths run the model alike.
type Threads struct {
	Intra int `json:"intra_op_threads"`
	Inter int `json:"inter_op_threads"`
}

// Bare is one batch's work for a model as bare ONNX Runtime calls
// (onnxruntime_go, no Vitrine code) on tensors prepared and allocated
// beforehand: the model's own ceiling, with no decoding, tokenising,
// resampling, tensor checks, output copies, pooling or normalisation.
type Bare struct {
	calls  []func() error
	values []interface{ Destroy() error }
	// Metrics describe the work, e.g. "windows/clip" for audio.
	Metrics map[string]float64
}

// Run runs the batch once.
func (b *Bare) Run(context.Context) error {
	for _, call := range b.calls {
		if err := call(); err != nil {
			return err
		}
	}
	return nil
}

// Close destroys the sessions, tensors and options, newest first.
func (b *Bare) Close() error {
	var errs []error
	for i := len(b.values) - 1; i >= 0; i-- {
		errs = append(errs, b.values[i].Destroy())
	}
	b.values = nil
	return errors.Join(errs...)
}

// keep records an ORT object for Close and passes its error on.
func (b *Bare) keep(v interface{ Destroy() error }, err error) error {
	if err != nil {
		return err
	}
	b.values = append(b.values, v)
	return nil
}

// OpenBare prepares batch (item bytes as an encoder gets them) the way the
// encoder for m would, allocates the tensors of exactly the shapes the
// pipeline builds for it, and opens the model's graphs from
// modelDir/<name>/<version> as plain onnxruntime_go sessions with th. The
// ORT environment must already be up (an onnx.Runtime open): the onnx
// package reference-counts that process-wide environment, so bare sessions
// borrow it and never initialise or destroy it. Sessions run on the CPU.
func OpenBare(ctx context.Context, m models.Manifest, modelDir string, batch [][]byte, th Threads) (_ *Bare, err error) {
	if !ort.IsInitialized() {
		return nil, errors.New("bare ONNX Runtime sessions need the ORT environment: open an onnx.Runtime first")
	}
	if len(batch) == 0 {
		return nil, errors.New("bare sessions for an empty batch")
	}
	b := &Bare{}
	defer func() {
		if err != nil {
			b.Close()
		}
	}()
	so, err := ort.NewSessionOptions()
	if err = b.keep(so, err); err != nil {
		return nil, err
	}
	if err := applyThreads(so, th); err != nil {
		return nil, err
	}
	dir := filepath.Join(modelDir, m.Name, m.Version)
	switch m.Modality {
	case models.Text:
		err = b.text(ctx, m, dir, so, batch)
	case models.Image:
		err = b.image(ctx, m, dir, so, batch)
	case models.Audio:
		err = b.audio(ctx, m, dir, so, batch)
	default:
		err = fmt.Errorf("no bare path for modality %q", m.Modality)
	}
	if err != nil {
		return nil, fmt.Errorf("bare %s: %w", m.Key(), err)
	}
	return b, nil
}

// applyThreads mirrors onnx.Runtime's session options, including its
// default of intra-op threads that do not spin-wait (ORT's own default
// spins; a baseline that spins would be measured with other settings).
func applyThreads(so *ort.SessionOptions, th Threads) error {
	if err := so.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"); err != nil {
		return err
	}
	if th.Intra > 0 {
		if err := so.SetIntraOpNumThreads(th.Intra); err != nil {
			return err
		}
	}
	if th.Inter > 0 {
		if err := so.SetInterOpNumThreads(th.Inter); err != nil {
			return err
		}
	}
	if th.Inter > 1 {
		return so.SetExecutionMode(ort.ExecutionModeParallel)
	}
	return nil
}

// session opens a graph with the given input and output names.
func (b *Bare) session(path string, in, out []string, so *ort.SessionOptions) (*ort.DynamicAdvancedSession, error) {
	s, err := ort.NewDynamicAdvancedSession(path, in, out, so)
	if err := b.keep(s, err); err != nil {
		return nil, err
	}
	return s, nil
}

// runOnce runs s on ins with ORT allocating the outputs, so their shapes
// need not be worked out by hand, and returns the outputs; later runs
// reuse them.
func (b *Bare) runOnce(s *ort.DynamicAdvancedSession, ins []ort.Value, nOut int) ([]ort.Value, error) {
	outs := make([]ort.Value, nOut)
	if err := s.Run(ins, outs); err != nil {
		return nil, err
	}
	for _, o := range outs {
		if err := b.keep(o, nil); err != nil {
			return nil, err
		}
	}
	return outs, nil
}

// addRun adds a call of s on pre-allocated ins (outputs allocated by a
// first run).
func (b *Bare) addRun(s *ort.DynamicAdvancedSession, ins []ort.Value, nOut int) ([]ort.Value, error) {
	outs, err := b.runOnce(s, ins, nOut)
	if err != nil {
		return nil, err
	}
	b.calls = append(b.calls, func() error { return s.Run(ins, outs) })
	return outs, nil
}

// text feeds the graph the token tensors the tokenizer makes for this
// batch ([n, longest row], padded), one per input role the manifest names.
func (b *Bare) text(ctx context.Context, m models.Manifest, dir string, so *ort.SessionOptions, batch [][]byte) error {
	tp := m.Preprocess.Text
	if tp == nil {
		return errors.New("preprocess.text missing")
	}
	tok, err := tokenizer.LoadFile(ctx, filepath.Join(dir, tp.Tokenizer), tokenizer.WithMaxLength(tp.MaxLength))
	if err != nil {
		return err
	}
	texts := make([]string, len(batch))
	for i, t := range batch {
		texts[i] = string(t)
	}
	tb := tok.EncodeBatch(texts, tokenizer.BatchOptions{MaxLength: tp.MaxLength})
	shape := ort.NewShape(tb.Shape()...)
	var names []string
	var ins []ort.Value
	for _, role := range []string{"input_ids", "attention_mask", "token_type_ids"} {
		name, ok := m.Inputs[role]
		if !ok {
			continue
		}
		data := map[string][]int64{"input_ids": tb.InputIDs, "attention_mask": tb.AttentionMask, "token_type_ids": tb.TokenTypeIDs}[role]
		t, err := ort.NewTensor(shape, data)
		if err := b.keep(t, err); err != nil {
			return err
		}
		names, ins = append(names, name), append(ins, t)
	}
	s, err := b.session(filepath.Join(dir, m.Graph()), names, []string{m.Outputs["embedding"]}, so)
	if err != nil {
		return err
	}
	_, err = b.addRun(s, ins, 1)
	return err
}

// image feeds the graph the [n,3,H,W] tensor imageprep makes of these
// images, and fetches the outputs the encoder asks for (the embedding and,
// when the manifest names one, the logits output Classify uses).
func (b *Bare) image(ctx context.Context, m models.Manifest, dir string, so *ort.SessionOptions, batch [][]byte) error {
	if m.Preprocess.Image == nil {
		return errors.New("preprocess.image missing")
	}
	prep, err := imageprep.New(*m.Preprocess.Image)
	if err != nil {
		return err
	}
	per := prep.Len()
	pixels := make([]float32, per*len(batch))
	for i, img := range batch {
		if _, err := prep.Prepare(ctx, img, pixels[i*per:(i+1)*per]); err != nil {
			return fmt.Errorf("image %d: %w", i, err)
		}
	}
	shape := prep.Shape()
	shape[0] = int64(len(batch))
	in, err := ort.NewTensor(ort.NewShape(shape...), pixels)
	if err := b.keep(in, err); err != nil {
		return err
	}
	outs := []string{m.Outputs["embedding"]}
	if l := m.Outputs["logits"]; l != "" {
		outs = append(outs, l)
	}
	s, err := b.session(filepath.Join(dir, m.Graph()), []string{m.Inputs["pixel_values"]}, outs, so)
	if err != nil {
		return err
	}
	_, err = b.addRun(s, []ort.Value{in}, len(outs))
	return err
}

// maxAudioWindows is the audio encoder's limit per embedding run.
const maxAudioWindows = 256

// audio runs what the audio encoder runs for this batch: the mel graph once
// per clip on [1, samples] (a short clip padded to one embedding window, as
// the encoder does), then the embedding graph on every window of every
// clip, at most 256 windows a run.
func (b *Bare) audio(ctx context.Context, m models.Manifest, dir string, so *ort.SessionOptions, batch [][]byte) error {
	if m.Preprocess.Audio == nil {
		return errors.New("preprocess.audio missing")
	}
	ap := *m.Preprocess.Audio
	prep, err := audioprep.New(ap)
	if err != nil {
		return err
	}
	mel, err := b.session(filepath.Join(dir, ap.MelModel), []string{m.Inputs["samples"]}, []string{m.Outputs["mel"]}, so)
	if err != nil {
		return err
	}
	emb, err := b.session(filepath.Join(dir, m.Graph()), []string{m.Inputs["mel_windows"]}, []string{m.Outputs["embedding"]}, so)
	if err != nil {
		return err
	}
	// As the audio encoder: one window of mel frames (10 ms hop,
	// 512-sample FFT) is the shortest input it runs the mel graph on.
	minLen := 512 + (ap.WindowFrames-1)*ap.SampleRate/100
	frameLen := ap.WindowFrames * ap.MelBins
	var windows []float32
	for i, wav := range batch {
		chunks, err := prep.Prepare(ctx, wav)
		if err != nil {
			return fmt.Errorf("clip %d: %w", i, err)
		}
		for _, c := range chunks {
			if len(c) == 0 {
				continue
			}
			samples := make([]float32, max(len(c), minLen))
			for j := range samples {
				samples[j] = c[j%len(c)]
			}
			in, err := ort.NewTensor(ort.NewShape(1, int64(len(samples))), samples)
			if err := b.keep(in, err); err != nil {
				return err
			}
			outs, err := b.addRun(mel, []ort.Value{in}, 1)
			if err != nil {
				return err
			}
			t, ok := outs[0].(*ort.Tensor[float32])
			if !ok {
				return fmt.Errorf("mel output is %T, want a float32 tensor", outs[0])
			}
			frames := t.GetData()
			for start := 0; (start+ap.WindowFrames)*ap.MelBins <= len(frames); start += ap.HopFrames {
				windows = append(windows, frames[start*ap.MelBins:start*ap.MelBins+frameLen]...)
			}
		}
	}
	total := len(windows) / frameLen
	if total < len(batch) {
		return fmt.Errorf("%d windows for %d clips; every clip gives at least one", total, len(batch))
	}
	for lo := 0; lo < total; lo += maxAudioWindows {
		hi := min(lo+maxAudioWindows, total)
		in, err := ort.NewTensor(ort.NewShape(int64(hi-lo), int64(ap.WindowFrames), int64(ap.MelBins), 1), windows[lo*frameLen:hi*frameLen])
		if err := b.keep(in, err); err != nil {
			return err
		}
		if _, err := b.addRun(emb, []ort.Value{in}, 1); err != nil {
			return err
		}
	}
	b.Metrics = map[string]float64{"windows/clip": float64(total) / float64(len(batch))}
	return nil
}
