package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/vitrinehq/vitrine/extractors/onnx"
	"github.com/vitrinehq/vitrine/internal/config"
	"github.com/vitrinehq/vitrine/models/gpucheck"
	"github.com/vitrinehq/vitrine/models/verify"
)

// gpuCheckUnavailable is the exit status when CUDA cannot be used at all,
// so a script can tell "no GPU here" (3) from "the GPU gives wrong
// embeddings or a model failed" (1).
const gpuCheckUnavailable = 3

func newModelsGPUCheckCmd(a *app) *cobra.Command {
	o := gpucheck.Options{}
	cmd := &cobra.Command{
		Use:   "gpu-check",
		Short: "Run every configured model on CPU and on CUDA: embeddings must agree; report items/s",
		Long: `gpu-check loads each configured model (models.text, models.image,
models.audio) twice in one process, on the CPU and on the CUDA execution
provider of the CUDA build of ONNX Runtime (ort.library when set, else
<home>/lib-cuda/libonnxruntime.so.1 from 'vitrine models fetch --gpu'; that
build runs the CPU provider too, and ONNX Runtime loads one library per
process). It encodes the same real inputs on both:

  text   lines of --text, or the demo catalog's titles and descriptions
  image  photos in --images (default demo/grocery/images)
  audio  WAVs in --audio, else <assets>/data/audio/fsdd when VITRINE_ASSETS
         (assets) is set, else synthesised tones

For each model it prints items/s on CPU and CUDA at batch 1 and batch 32
(end to end, preprocessing included, after a warm-up batch) and the minimum
and mean cosine similarity between the CPU and CUDA vector of each input,
which must be at least --min-cosine.

Exit status: 0 when every model agrees; 1 when a model fails or disagrees;
3 when CUDA cannot be used here at all. In that case it stops before any
model is measured and names what is missing (the CUDA build of ONNX Runtime,
its provider libraries, the NVIDIA driver, CUDA 13, cuDNN 9).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Items < 1 {
				return fmt.Errorf("--items %d: want at least 1", o.Items)
			}
			if o.MinCosine <= 0 || o.MinCosine > 1 {
				return fmt.Errorf("--min-cosine %v: want a value in (0, 1]", o.MinCosine)
			}
			return runGPUCheck(cmd.Context(), a, o, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Items, "items", 64, "inputs per model (sources are repeated to reach it)")
	f.DurationVar(&o.MinTime, "min-time", time.Second, "measure each provider and batch size for at least this long")
	f.Float64Var(&o.MinCosine, "min-cosine", 0.999, "lowest acceptable cosine similarity between a CPU and a CUDA vector")
	f.StringVar(&o.Text, "text", "", "file of text inputs, one per line (default: the demo catalog's titles and descriptions)")
	f.StringVar(&o.Images, "images", filepath.Join("demo", "grocery", "images"), "directory of images (.jpg, .jpeg, .png)")
	f.StringVar(&o.Audio, "audio", "", "directory of .wav files (default: <assets>/data/audio/fsdd, else synthesised tones)")
	return cmd
}

// gpuCheckLibrary is the ONNX Runtime build gpu-check loads: ort.library
// when set (the operator says that is their CUDA build), else the one
// `vitrine models fetch --gpu` installs.
func gpuCheckLibrary(cfg config.Config) string {
	if cfg.ORT.Library != "" {
		return config.Abs(cfg.ORT.Library)
	}
	return cfg.ORTCUDALibrary()
}

func runGPUCheck(ctx context.Context, a *app, o gpucheck.Options, out io.Writer) error {
	ms, err := a.manifests()
	if err != nil {
		return err
	}
	todo, err := verify.Targets(ms, nil, a.cfg.Models.Manifests, []string{a.cfg.Models.Text, a.cfg.Models.Image, a.cfg.Models.Audio})
	if err != nil {
		return err
	}
	env := gpucheck.Env{Library: gpuCheckLibrary(a.cfg), ModelDir: a.cfg.ModelDir(), Assets: config.Abs(a.cfg.Assets),
		Intra: a.cfg.ORT.IntraOpThreads, Inter: a.cfg.ORT.InterOpThreads, MaxWait: a.cfg.ORT.MaxWait, QueueSize: a.cfg.ORT.QueueSize, Logger: a.log}
	err = gpucheck.Report(ctx, out, env, todo, o)
	if ue := (*gpucheck.UnavailableError)(nil); errors.As(err, &ue) {
		return gpuUnavailable(ue.ProviderError)
	}
	return err
}

// gpuUnavailableError is CUDA being unusable: main finds the exitError
// (status 3, the whole message, which names the missing pieces and
// scripts/setup --gpu), errors.Is finds onnx.ErrProviderUnavailable.
type gpuUnavailableError struct {
	exit exitError
	pe   *onnx.ProviderError
}

func (e *gpuUnavailableError) Error() string   { return e.exit.msg }
func (e *gpuUnavailableError) Unwrap() []error { return []error{e.exit, e.pe} }

func gpuUnavailable(pe *onnx.ProviderError) error {
	return &gpuUnavailableError{exit: exitError{code: gpuCheckUnavailable, msg: "models gpu-check: " + pe.Error()}, pe: pe}
}
