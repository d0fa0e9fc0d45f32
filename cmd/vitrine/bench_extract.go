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
	modalities, batches, photos, audioDir string
	items, rounds                         int
	duration                              time.Duration
	jsonOut, mdOut, plotF                 string
	gen                                   throughput.GeneratedRun
}

func newBenchExtractCmd(a *app) *cobra.Command {
	var o benchExtractOpts
	cmd := &cobra.Command{
		Use:   "extract",
		Short: "Encoder items/s per modality and batch size, beside the bare ONNX Runtime session and batch 1",
		Long: `For each modality (--modality) and batch size (--batch), run the configured
model (models.text/image/audio) on real inputs three ways in one process,
alternating over --rounds rounds so the machine's load hits all alike:
pipeline, BATCH concurrent Encode calls through the dynamic batcher (max batch
BATCH, max wait ort.max_wait; decoding, tokenising or resampling, ONNX Runtime,
pooling, normalisation), as the API serves; EncodeBatch, one call of BATCH
items, as ingestion encodes; bare ORT, the baseline: the same graphs as plain
onnxruntime_go sessions (same threads) on tensors prepared beforehand.
Each is items/s (median of the rounds) with its ratio to bare ORT and to batch
1 of the same path (always measured). Inputs: synthetic product texts; the
Grocery Store Dataset's photos (--photos, default <assets>/data/grocery/
photos_dev.txt), else the demo catalog's; FSDD digits (--audio, default
<assets>/data/audio/fsdd), else synthesised tones. CPU provider only.
--generated measures models of real sizes instead (random weights, cached in
<model dir>/generated): fp32 and int8 interleaved, pipeline beside bare ORT,
text at each --seq; int8 rows give the speed-up and cosine to fp32.`,
		Example: `  vitrine bench extract
  vitrine bench extract --modality image --batch 1,4,16,64 --duration 10s
  vitrine bench extract --json bx.json --md bx.md --plot bx.png
  vitrine bench extract --generated minilm,vit-b16 --precision fp32,int8 --md gen.md`,
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
	cmd.Flags().StringVar(&o.gen.Presets, "generated", "", "measure generated models of these sizes instead: minilm, bert-base, vit-b16, clip-b32")
	cmd.Flags().StringVar(&o.gen.Precisions, "precision", "fp32,int8", "precisions of --generated models")
	cmd.Flags().StringVar(&o.gen.SeqLens, "seq", "16,64,128", "token sequence lengths of --generated text models")
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
	cfg := throughput.ExtractConfig{ModelDir: a.cfg.ModelDir(), MaxWait: a.cfg.ORT.MaxWait, QueueSize: a.cfg.ORT.QueueSize, Logger: a.log,
		Threads: throughput.Threads{Intra: a.cfg.ORT.IntraOpThreads, Inter: a.cfg.ORT.InterOpThreads},
		Assets:  throughput.Assets(a.cfg.Assets), Photos: o.photos, AudioDir: o.audioDir, Progress: cmd.ErrOrStderr()}
	if o.gen.Presets != "" {
		o.gen.JSON, o.gen.Markdown = o.jsonOut, o.mdOut
		return throughput.RunGenerated(ctx, a.runtime, o.gen, sizes, budget, cfg, cmd.OutOrStdout())
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
	rep, err := throughput.Extract(ctx, rt, plan, sizes, budget, cfg)
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
