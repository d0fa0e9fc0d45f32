package extractors

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/vitrinehq/vitrine/extractors/audioprep"
	"github.com/vitrinehq/vitrine/extractors/onnx"
	"github.com/vitrinehq/vitrine/models"
)

// audioEncoder runs the speech-embedding family: WAV -> mono samples at the
// model's rate -> mel-spectrogram graph -> overlapping mel windows ->
// embedding graph, with the window embeddings averaged into one vector
// (over every chunk of a long clip).
type audioEncoder struct {
	m      models.Manifest
	ap     models.AudioPrep
	prep   *audioprep.Preparer
	mel    *onnx.Session
	emb    *onnx.Session
	minLen int // samples needed for one full window of mel frames
}

// maxWindows bounds one run of the embedding graph.
const maxWindows = 256

func openAudio(ctx context.Context, rt *onnx.Runtime, m models.Manifest, dir string, _ Options) (batchEncoder, error) {
	ap := m.Preprocess.Audio
	if ap == nil || ap.MelModel == "" || ap.WindowFrames <= 0 || ap.HopFrames <= 0 || ap.MelBins <= 0 {
		return nil, fmt.Errorf("manifest %s: preprocess.audio needs mel_model, window_frames, hop_frames and mel_bins", m.Name)
	}
	prep, err := audioprep.New(*ap)
	if err != nil {
		return nil, err
	}
	samplesIn, err := tensorName(m, m.Inputs, "samples", "input")
	if err != nil {
		return nil, err
	}
	melOut, err := tensorName(m, m.Outputs, "mel", "output")
	if err != nil {
		return nil, err
	}
	winIn, err := tensorName(m, m.Inputs, "mel_windows", "input")
	if err != nil {
		return nil, err
	}
	embOut, err := tensorName(m, m.Outputs, "embedding", "output")
	if err != nil {
		return nil, err
	}
	mel, err := rt.OpenSession(ctx, filepath.Join(dir, ap.MelModel), onnx.WithInputNames(samplesIn), onnx.WithOutputNames(melOut))
	if err != nil {
		return nil, err
	}
	emb, err := rt.OpenSession(ctx, filepath.Join(dir, m.Graph()), onnx.WithInputNames(winIn), onnx.WithOutputNames(embOut))
	if err != nil {
		mel.Close()
		return nil, err
	}
	// The mel graph makes a frame every 10 ms from a 512-sample FFT; a clip
	// shorter than one embedding window (76 frames, about 0.8 s) is padded
	// to that length by repeating it (see melFrames).
	minLen := 512 + (ap.WindowFrames-1)*ap.SampleRate/100
	return &audioEncoder{m: m, ap: *ap, prep: prep, mel: mel, emb: emb, minLen: minLen}, nil
}

// prepare decodes and resamples the clips and runs the mel graph on them;
// the returned run feeds the mel windows to the embedding graph.
func (a *audioEncoder) prepare(ctx context.Context, inputs [][]byte) (runFunc, error) {
	errs := make([]error, len(inputs))
	// windows of every item, with the item each belongs to.
	var windows []float32
	var owner []int
	frameLen := a.ap.WindowFrames * a.ap.MelBins
	for i, in := range inputs {
		chunks, err := a.prep.Prepare(ctx, in)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			errs[i] = err
			continue
		}
		for _, c := range chunks {
			mel, err := a.melFrames(ctx, c)
			if err != nil {
				return nil, err
			}
			frames := len(mel) / a.ap.MelBins
			for start := 0; start+a.ap.WindowFrames <= frames; start += a.ap.HopFrames {
				windows = append(windows, mel[start*a.ap.MelBins:start*a.ap.MelBins+frameLen]...)
				owner = append(owner, i)
			}
		}
		if len(owner) == 0 || owner[len(owner)-1] != i {
			errs[i] = fmt.Errorf("%w: clip too short for one embedding window", ErrEmptyInput)
		}
	}
	return func(ctx context.Context) ([][]float32, []error, error) {
		vecs, err := a.embed(ctx, len(inputs), windows, owner)
		return vecs, errs, err
	}, nil
}

// embed runs the embedding graph on the mel windows, at most maxWindows
// at a time, and averages each item's window embeddings (owner[w] is the
// item of window w).
func (a *audioEncoder) embed(ctx context.Context, n int, windows []float32, owner []int) ([][]float32, error) {
	vecs := make([][]float32, n)
	frameLen := a.ap.WindowFrames * a.ap.MelBins
	counts := make([]int, n)
	for lo := 0; lo < len(owner); lo += maxWindows {
		hi := min(lo+maxWindows, len(owner))
		shape := []int64{int64(hi - lo), int64(a.ap.WindowFrames), int64(a.ap.MelBins), 1}
		outs, err := a.emb.Run(ctx, []onnx.Tensor{onnx.Float32Tensor(shape, windows[lo*frameLen:hi*frameLen])})
		if err != nil {
			return nil, err
		}
		data := outs[0].Float32s()
		d := len(data) / (hi - lo)
		for w := lo; w < hi; w++ {
			i := owner[w]
			if vecs[i] == nil {
				vecs[i] = make([]float32, d)
			}
			for k, x := range data[(w-lo)*d : (w-lo+1)*d] {
				vecs[i][k] += x
			}
			counts[i]++
		}
	}
	for i, v := range vecs {
		for k := range v {
			v[k] /= float32(counts[i])
		}
	}
	return vecs, nil
}

// melFrames runs the mel graph on one chunk and applies the manifest's
// affine rescaling (the embedder was trained on mel*scale+offset).
func (a *audioEncoder) melFrames(ctx context.Context, samples []float32) ([]float32, error) {
	// Samples arrive scaled by audioprep (sample_scale). Short clips are
	// padded by repeating them: silence would dominate the windows and make
	// every short clip alike.
	n := max(len(samples), a.minLen)
	buf := make([]float32, n)
	for i := range buf {
		if len(samples) == 0 {
			break
		}
		buf[i] = samples[i%len(samples)]
	}
	outs, err := a.mel.Run(ctx, []onnx.Tensor{onnx.Float32Tensor([]int64{1, int64(n)}, buf)})
	if err != nil {
		return nil, err
	}
	mel := outs[0].Float32s()
	ms := a.ap.MelScale
	if ms == 0 {
		ms = 1
	}
	for i, x := range mel {
		mel[i] = x*ms + a.ap.MelOffset
	}
	return mel, nil
}

func (a *audioEncoder) provider() onnx.Provider { return a.emb.Provider() }

func (a *audioEncoder) close() error {
	return errors.Join(a.mel.Close(), a.emb.Close())
}
