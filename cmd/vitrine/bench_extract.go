package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/vitrinehq/vitrine/bench/throughput"
	"github.com/vitrinehq/vitrine/extractors/onnx"
	"github.com/vitrinehq/vitrine/models"
	"github.com/vitrinehq/vitrine/report"
)

// benchExtractOpts are the flags of bench extract.
type benchExtractOpts struct {
	modalities, batches   string
	items, rounds         int
	duration              time.Duration
	photos, audioDir      string
	jsonOut, mdOut, plotF string
}

func newBenchExtractCmd(a *app) *cobra.Command {
	var o benchExtractOpts
	cmd := &cobra.Command{
		Use:   "extract",
		Short: "Encoder items/s per modality and batch size, beside the bare ONNX Runtime session and batch 1",
		Long: `For each modality (--modality) and batch size (--batch), run the configured
model (models.text, models.image, models.audio, from the model directory) on
real inputs three ways, in one process, alternating between them over
--rounds rounds so that the machine's load hits all three alike:

  pipeline     BATCH concurrent Encode calls through Vitrine's encoder, as the
               API serves requests: the dynamic batcher (max batch = BATCH,
               max wait = ort.max_wait) gathers them into one model run, with
               decoding, tokenising or resampling, tensor checks, ONNX
               Runtime, pooling and normalisation.
  EncodeBatch  one EncodeBatch call of BATCH items: the same encoder without
               the batcher, as ingestion and backfill encode.
  bare ORT     the baseline: the same .onnx graphs as plain ONNX Runtime
               sessions (onnxruntime_go, same thread settings) on tensors
               prepared beforehand for the same BATCH items, with outputs
               allocated once: the model's own ceiling, no Vitrine code.

Each is items/s (the median of the rounds), printed with its ratio to the
bare session at the same batch size (the share of the model's speed the
pipeline keeps) and to batch 1 of the same path (what batching buys); batch 1
is always measured. The service batches up to ort.max_batch (32 by default).

Inputs: text, synthetic product texts (title, brand, category, description,
as the indexer builds them); image, the Grocery Store Dataset's shop photos
(--photos, default <assets>/data/grocery/photos_dev.txt), else the demo
catalog's photos; audio, the FSDD spoken digits (--audio, default
<assets>/data/audio/fsdd), else synthesised tones. The first BATCH inputs,
repeated when there are fewer, make each batch. Runs on the CPU provider.`,
		Example: `  vitrine bench extract
  vitrine bench extract --modality image --batch 1,4,16,64 --duration 10s
  vitrine bench extract --json bx.json --md bx.md --plot bx.png`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("items") && cmd.Flags().Changed("duration") {
				return errors.New("--items and --duration: give one of them")
			}
			return a.benchExtract(cmd, o)
		},
	}
	cmd.Flags().StringVar(&o.modalities, "modality", "text,image,audio", "modalities to measure (text, image, audio)")
	cmd.Flags().StringVar(&o.batches, "batch", "1,8,32", "batch sizes (batch 1 is always measured: it is a baseline)")
	cmd.Flags().IntVar(&o.items, "items", 0, "items per path and batch size (instead of --duration)")
	cmd.Flags().DurationVar(&o.duration, "duration", 2*time.Second, "time per path and batch size")
	cmd.Flags().IntVar(&o.rounds, "rounds", 3, "rounds that alternate between the three paths")
	cmd.Flags().StringVar(&o.photos, "photos", "", "labelled photos file for images (default <assets>/data/grocery/photos_dev.txt)")
	cmd.Flags().StringVar(&o.audioDir, "audio", "", "directory of WAV files for audio (default <assets>/data/audio/fsdd)")
	cmd.Flags().StringVar(&o.jsonOut, "json", "", "write the report as JSON to this file")
	cmd.Flags().StringVar(&o.mdOut, "md", "", "write the report as Markdown to this file")
	cmd.Flags().StringVar(&o.plotF, "plot", "", "write a PNG plot of items/s against batch size to this file")
	return cmd
}

// benchExtract measures the configured models of the asked modalities
// and prints, plots and writes the report.
func (a *app) benchExtract(cmd *cobra.Command, o benchExtractOpts) error {
	ctx := cmd.Context()
	mods, err := throughput.ParseModalities(o.modalities)
	if err != nil {
		return fmt.Errorf("--modality: %w", err)
	}
	sizes, err := throughput.ParseBatches(o.batches)
	if err != nil {
		return fmt.Errorf("--batch: %w", err)
	}
	budget := throughput.Budget{Items: o.items, Duration: o.duration, Rounds: o.rounds}
	if err := budget.Validate(); err != nil {
		return err
	}
	if a.cfg.ORT.Provider != string(onnx.ProviderCPU) {
		return fmt.Errorf("ort.provider is %q: bench extract compares against bare sessions on the CPU provider; run it with VITRINE_ORT_PROVIDER=cpu", a.cfg.ORT.Provider)
	}
	ms, err := a.manifests()
	if err != nil {
		return err
	}
	configured := map[models.Modality]string{models.Text: a.cfg.Models.Text, models.Image: a.cfg.Models.Image, models.Audio: a.cfg.Models.Audio}
	plan, err := throughput.Plan(ms, mods, configured, cmd.Flags().Changed("modality"), cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	rt, err := a.runtime(ctx)
	if err != nil {
		return err
	}
	defer rt.Close()
	rep, err := throughput.Extract(ctx, rt, plan, sizes, budget, throughput.ExtractConfig{ModelDir: a.cfg.ModelDir(), MaxWait: a.cfg.ORT.MaxWait,
		QueueSize: a.cfg.ORT.QueueSize, Threads: throughput.Threads{Intra: a.cfg.ORT.IntraOpThreads, Inter: a.cfg.ORT.InterOpThreads}, Logger: a.log,
		Assets: throughput.Assets(a.cfg.Assets), Photos: o.photos, AudioDir: o.audioDir, Progress: cmd.ErrOrStderr()})
	if err != nil {
		return err
	}
	if err := throughput.ExtractText(cmd.OutOrStdout(), rep); err != nil {
		return err
	}
	if o.plotF != "" {
		if err := throughput.ExtractPlot(o.plotF, rep); err != nil {
			return err
		}
	}
	return report.Write(o.jsonOut, o.mdOut, rep, throughput.ExtractMarkdown)
}
