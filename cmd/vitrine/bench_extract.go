package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"image/color"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/vitrinehq/vitrine/bench/throughput"
	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/extractors/onnx"
	"github.com/vitrinehq/vitrine/internal/config"
	"github.com/vitrinehq/vitrine/models"
	"github.com/vitrinehq/vitrine/models/verify"
	"github.com/vitrinehq/vitrine/report"
)

// extractModalities are the modalities bench extract knows, in order.
var extractModalities = []models.Modality{models.Text, models.Image, models.Audio}

// maxBenchBatch bounds --batch: beyond it one image batch alone takes
// seconds and gigabytes.
const maxBenchBatch = 1024

// extractRow is one modality at one batch size.
type extractRow struct {
	Modality string `json:"modality"`
	Model    string `json:"model"`
	Batch    int    `json:"batch"`
	// Pipeline is Batch concurrent Encode calls through the encoder's
	// dynamic batcher (max batch = Batch), as the API serves requests.
	Pipeline throughput.Result `json:"pipeline"`
	// EncodeBatch is one EncodeBatch call of Batch items, as ingestion and
	// backfill encode (no batcher).
	EncodeBatch throughput.Result `json:"encode_batch"`
	// Bare is the model alone: plain ONNX Runtime sessions on tensors
	// prepared beforehand for the same Batch items.
	Bare              throughput.Result  `json:"bare"`
	BareMetrics       map[string]float64 `json:"bare_metrics,omitempty"`
	PipelineVsBare    float64            `json:"pipeline_vs_bare"`
	EncodeBatchVsBare float64            `json:"encode_batch_vs_bare"`
	// PipelineVsBatch1 and BareVsBatch1 divide by the same path's items/s
	// at batch 1.
	PipelineVsBatch1 float64 `json:"pipeline_vs_batch1"`
	BareVsBatch1     float64 `json:"bare_vs_batch1"`
}

// extractInput says what one modality was fed.
type extractInput struct {
	Modality string `json:"modality"`
	Model    string `json:"model"`
	Source   string `json:"source"`
	Distinct int    `json:"distinct_inputs"`
}

// extractReport is what `vitrine bench extract` measured.
type extractReport struct {
	Date     string             `json:"date"`
	CPUs     int                `json:"cpus"`
	Budget   string             `json:"budget"`
	MaxWait  string             `json:"max_wait"`
	Threads  throughput.Threads `json:"ort_threads"`
	Inputs   []extractInput     `json:"inputs"`
	Rows     []extractRow       `json:"rows"`
	Seconds  float64            `json:"seconds"`
	ORT      string             `json:"onnxruntime"`
	Provider string             `json:"provider"`
}

func newBenchExtractCmd(a *app) *cobra.Command {
	var (
		modalities, batches   string
		items, rounds         int
		duration              time.Duration
		photos, audioDir      string
		jsonOut, mdOut, plotF string
	)
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
			ctx := cmd.Context()
			mods, err := parseModalities(modalities)
			if err != nil {
				return err
			}
			sizes, err := parseBatches(batches)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("items") && cmd.Flags().Changed("duration") {
				return errors.New("--items and --duration: give one of them")
			}
			budget := throughput.Budget{Items: items, Duration: duration, Rounds: rounds}
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
			// Each modality's manifest: an explicitly asked modality must
			// have a model; the default list skips unconfigured ones.
			var plan []models.Manifest
			for _, md := range mods {
				name := map[models.Modality]string{models.Text: a.cfg.Models.Text, models.Image: a.cfg.Models.Image, models.Audio: a.cfg.Models.Audio}[md]
				if name == "" {
					if cmd.Flags().Changed("modality") {
						return fmt.Errorf("--modality %s: models.%s is empty (no %s model configured)", md, md, md)
					}
					fmt.Fprintf(cmd.ErrOrStderr(), "skipping %s: models.%s is empty\n", md, md)
					continue
				}
				m, ok := models.Find(ms, name)
				if !ok {
					return fmt.Errorf("models.%s: %w: %q", md, extractors.ErrUnknownModel, name)
				}
				plan = append(plan, m)
			}
			if len(plan) == 0 {
				return errors.New("--modality: no configured model to measure")
			}
			rt, err := a.runtime(ctx)
			if err != nil {
				return err
			}
			defer rt.Close()
			rep := extractReport{Date: time.Now().UTC().Format(time.RFC3339), CPUs: runtime.NumCPU(), Budget: budget.String(),
				MaxWait: a.cfg.ORT.MaxWait.String(), Threads: throughput.Threads{Intra: a.cfg.ORT.IntraOpThreads, Inter: a.cfg.ORT.InterOpThreads},
				ORT: rt.Version(), Provider: string(rt.Provider())}
			start := time.Now()
			assets := benchAssets(a.cfg)
			for _, m := range plan {
				pool, src, err := extractInputs(m, assets, photos, audioDir)
				if err != nil {
					return err
				}
				rep.Inputs = append(rep.Inputs, extractInput{Modality: string(m.Modality), Model: m.Key(), Source: src, Distinct: len(pool)})
				fmt.Fprintf(cmd.ErrOrStderr(), "%s (%s): %s\n", m.Modality, m.Key(), src)
				var first extractRow
				for _, n := range sizes {
					row, err := a.extractCell(ctx, rt, m, throughput.Cycle(pool, n), budget)
					if err != nil {
						return fmt.Errorf("%s at batch %d: %w", m.Modality, n, err)
					}
					if n == 1 {
						first = row
					}
					row.PipelineVsBatch1 = ratio(row.Pipeline.PerSecond, first.Pipeline.PerSecond)
					row.BareVsBatch1 = ratio(row.Bare.PerSecond, first.Bare.PerSecond)
					rep.Rows = append(rep.Rows, row)
					fmt.Fprintf(cmd.ErrOrStderr(), "  batch %-4d pipeline %s  EncodeBatch %s  bare %s items/s\n", n,
						fmtRate(row.Pipeline.PerSecond), fmtRate(row.EncodeBatch.PerSecond), fmtRate(row.Bare.PerSecond))
				}
			}
			rep.Seconds = time.Since(start).Seconds()
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "encoder throughput, %s, ONNX Runtime %s (%s), %d CPUs, %.0fs\n", rep.Budget, rep.ORT, rep.Provider, rep.CPUs, rep.Seconds)
			for _, in := range rep.Inputs {
				fmt.Fprintf(out, "  %s: %s: %s\n", in.Modality, in.Model, in.Source)
			}
			if err := printExtract(out, rep); err != nil {
				return err
			}
			if plotF != "" {
				if err := extractPlot(plotF, rep); err != nil {
					return err
				}
			}
			return report.Write(jsonOut, mdOut, rep, extractMarkdown)
		},
	}
	cmd.Flags().StringVar(&modalities, "modality", "text,image,audio", "modalities to measure (text, image, audio)")
	cmd.Flags().StringVar(&batches, "batch", "1,8,32", "batch sizes (batch 1 is always measured: it is a baseline)")
	cmd.Flags().IntVar(&items, "items", 0, "items per path and batch size (instead of --duration)")
	cmd.Flags().DurationVar(&duration, "duration", 2*time.Second, "time per path and batch size")
	cmd.Flags().IntVar(&rounds, "rounds", 3, "rounds that alternate between the three paths")
	cmd.Flags().StringVar(&photos, "photos", "", "labelled photos file for images (default <assets>/data/grocery/photos_dev.txt)")
	cmd.Flags().StringVar(&audioDir, "audio", "", "directory of WAV files for audio (default <assets>/data/audio/fsdd)")
	cmd.Flags().StringVar(&jsonOut, "json", "", "write the report as JSON to this file")
	cmd.Flags().StringVar(&mdOut, "md", "", "write the report as Markdown to this file")
	cmd.Flags().StringVar(&plotF, "plot", "", "write a PNG plot of items/s against batch size to this file")
	return cmd
}

// extractCell measures one modality at one batch size: an encoder whose
// dynamic batcher takes exactly that batch, bare sessions for the same
// items, and the three paths interleaved.
func (a *app) extractCell(ctx context.Context, rt *onnx.Runtime, m models.Manifest, batch [][]byte, budget throughput.Budget) (extractRow, error) {
	n := len(batch)
	row := extractRow{Modality: string(m.Modality), Model: m.Key(), Batch: n}
	enc, err := extractors.Open(ctx, rt, m, a.cfg.ModelDir(), extractors.Options{MaxBatch: n, MaxWait: a.cfg.ORT.MaxWait,
		QueueSize: max(a.cfg.ORT.QueueSize, n), Logger: a.log})
	if err != nil {
		return row, err
	}
	defer enc.Close()
	// The encoder's Runtime holds ORT's environment, which the bare
	// sessions borrow.
	bare, err := throughput.OpenBare(ctx, m, a.cfg.ModelDir(), batch, throughput.Threads{Intra: a.cfg.ORT.IntraOpThreads, Inter: a.cfg.ORT.InterOpThreads})
	if err != nil {
		return row, err
	}
	defer bare.Close()
	res, err := throughput.Interleave(ctx, []throughput.Runner{
		{Name: "pipeline", Items: n, Run: func(ctx context.Context) error { return throughput.Served(ctx, enc, batch) }},
		{Name: "EncodeBatch", Items: n, Run: func(ctx context.Context) error { return throughput.EncodeBatch(ctx, enc, batch) }},
		{Name: "bare ORT", Items: n, Run: bare.Run},
	}, budget)
	if err != nil {
		return row, err
	}
	row.Pipeline, row.EncodeBatch, row.Bare, row.BareMetrics = res[0], res[1], res[2], bare.Metrics
	row.PipelineVsBare = ratio(row.Pipeline.PerSecond, row.Bare.PerSecond)
	row.EncodeBatchVsBare = ratio(row.EncodeBatch.PerSecond, row.Bare.PerSecond)
	return row, nil
}

// benchAssets is the mirror directory: assets when configured, else
// ../shared when it exists (as scripts/setup and scripts/test default it).
func benchAssets(cfg config.Config) string {
	if cfg.Assets != "" {
		return config.Abs(cfg.Assets)
	}
	if st, err := os.Stat(filepath.Join("..", "shared")); err == nil && st.IsDir() {
		return config.Abs(filepath.Join("..", "shared"))
	}
	return ""
}

// extractInputs are one modality's real inputs and where they came from.
func extractInputs(m models.Manifest, assets, photos, audioDir string) ([][]byte, string, error) {
	switch m.Modality {
	case models.Text:
		const n = 64
		return throughput.ProductTexts(n), fmt.Sprintf("%d synthetic product texts (title. brand. category. description)", n), nil
	case models.Image:
		list, explicit := photos, photos != ""
		if !explicit && assets != "" {
			list = filepath.Join(assets, "data", "grocery", "photos_dev.txt")
		}
		if list != "" {
			paths, err := throughput.PhotoList(list)
			if err == nil {
				var pool [][]byte
				if pool, err = throughput.ReadFiles(paths); err == nil {
					return pool, fmt.Sprintf("%d Grocery Store Dataset shop photos listed in %s", len(pool), list), nil
				}
			}
			if explicit || !errors.Is(err, fs.ErrNotExist) {
				return nil, "", fmt.Errorf("--photos: %w", err)
			}
		}
		dir := filepath.Join("demo", "grocery", "images")
		if paths, err := throughput.Files(dir, ".jpg", ".jpeg", ".png"); err == nil && len(paths) > 0 {
			pool, err := throughput.ReadFiles(paths)
			return pool, fmt.Sprintf("%d demo catalog photos in %s (no photos_dev.txt found: set --photos or assets)", len(pool), dir), err
		}
		pool, desc, err := verify.SynthImages()
		return pool, desc + " (no photos found: set --photos or assets)", err
	case models.Audio:
		dir, explicit := audioDir, audioDir != ""
		if !explicit && assets != "" {
			dir = filepath.Join(assets, "data", "audio", "fsdd")
		}
		if dir != "" {
			paths, err := throughput.Files(dir, ".wav")
			if err == nil && len(paths) == 0 {
				err = fmt.Errorf("no .wav files in %s", dir)
			}
			if err == nil {
				pool, err := throughput.ReadFiles(paths)
				return pool, fmt.Sprintf("%d WAV files in %s", len(pool), dir), err
			}
			if explicit || !errors.Is(err, fs.ErrNotExist) {
				return nil, "", fmt.Errorf("--audio: %w", err)
			}
		}
		pool, desc := verify.SynthWAVs(m)
		return pool, desc + " (no FSDD clips found: set --audio or assets)", nil
	}
	return nil, "", fmt.Errorf("no inputs for modality %q", m.Modality)
}

// parseModalities reads --modality.
func parseModalities(s string) ([]models.Modality, error) {
	var out []models.Modality
	for f := range strings.SplitSeq(s, ",") {
		md := models.Modality(strings.ToLower(strings.TrimSpace(f)))
		if !slices.Contains(extractModalities, md) {
			return nil, fmt.Errorf("--modality: unknown modality %q (want text, image or audio)", strings.TrimSpace(f))
		}
		if !slices.Contains(out, md) {
			out = append(out, md)
		}
	}
	return out, nil
}

// parseBatches reads --batch: sorted, without repeats, with 1 added.
func parseBatches(s string) ([]int, error) {
	out := []int{1}
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > maxBenchBatch {
			return nil, fmt.Errorf("--batch: %q is not an integer from 1 to %d", strings.TrimSpace(f), maxBenchBatch)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// fmtRate prints items/s with sensible precision.
func fmtRate(v float64) string {
	if v >= 100 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

func printExtract(w io.Writer, rep extractReport) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nMODALITY\tMODEL\tBATCH\tPIPELINE items/s\tENCODEBATCH items/s\tBARE ORT items/s\tPIPELINE/BARE\tENCODEBATCH/BARE\tPIPELINE vs BATCH 1\tBARE vs BATCH 1")
	for _, r := range rep.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%.2f\t%.2f\t%.2fx\t%.2fx\n", r.Modality, r.Model, r.Batch,
			fmtRate(r.Pipeline.PerSecond), fmtRate(r.EncodeBatch.PerSecond), fmtRate(r.Bare.PerSecond),
			r.PipelineVsBare, r.EncodeBatchVsBare, r.PipelineVsBatch1, r.BareVsBatch1)
	}
	return tw.Flush()
}

func extractMarkdown(w io.Writer, rep extractReport) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Encoder throughput: `vitrine bench extract`\n\n")
	fmt.Fprintf(&b, "%s, %d CPUs, ONNX Runtime %s (%s provider, intra-op threads %d, inter-op %d), ort.max_wait %s; %s (median of the rounds); %.0f s in all.\n\n",
		rep.Date, rep.CPUs, rep.ORT, rep.Provider, rep.Threads.Intra, rep.Threads.Inter, rep.MaxWait, rep.Budget, rep.Seconds)
	for _, in := range rep.Inputs {
		fmt.Fprintf(&b, "- %s (`%s`): %s\n", in.Modality, in.Model, in.Source)
	}
	fmt.Fprintf(&b, "\n*Pipeline*: BATCH concurrent `Encode` calls through the encoder's dynamic batcher (max batch = BATCH), as the API serves requests. "+
		"*EncodeBatch*: one `EncodeBatch` call of BATCH items, as ingestion encodes. "+
		"*Bare ORT* (the baseline): the same graphs as plain ONNX Runtime sessions on tensors prepared beforehand for the same items.\n\n")
	fmt.Fprintf(&b, "| modality | model | batch | pipeline items/s | EncodeBatch items/s | bare ORT items/s | pipeline / bare | EncodeBatch / bare | pipeline vs batch 1 | bare vs batch 1 |\n")
	fmt.Fprintf(&b, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rep.Rows {
		fmt.Fprintf(&b, "| %s | `%s` | %d | %s | %s | %s | %.2f | %.2f | %.2f× | %.2f× |\n", r.Modality, r.Model, r.Batch,
			fmtRate(r.Pipeline.PerSecond), fmtRate(r.EncodeBatch.PerSecond), fmtRate(r.Bare.PerSecond),
			r.PipelineVsBare, r.EncodeBatchVsBare, r.PipelineVsBatch1, r.BareVsBatch1)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// extractPlot draws items/s against batch size, both on log scales: one
// colour per modality, the pipeline solid, EncodeBatch dotted, bare ORT
// dashed.
func extractPlot(path string, rep extractReport) error {
	p := plot.New()
	p.Title.Text = "Encoder throughput: pipeline vs bare ONNX Runtime"
	p.X.Label.Text = "batch size"
	p.Y.Label.Text = "items/s"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	var ticks []plot.Tick
	for _, r := range rep.Rows {
		if !slices.ContainsFunc(ticks, func(t plot.Tick) bool { return t.Value == float64(r.Batch) }) {
			ticks = append(ticks, plot.Tick{Value: float64(r.Batch), Label: strconv.Itoa(r.Batch)})
		}
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	// The x axis runs on past the largest batch, leaving room on the right
	// for the legend.
	if len(ticks) == 0 {
		return fmt.Errorf("plot %s: no rows to plot", path)
	}
	p.X.Min, p.X.Max = 1, slices.MaxFunc(ticks, func(a, b plot.Tick) int { return cmp.Compare(a.Value, b.Value) }).Value*6
	p.Legend.Top = true
	p.Legend.Left = false
	p.Add(plotter.NewGrid())
	colors := map[string]color.Color{
		"text":  color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
		"image": color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
		"audio": color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	}
	lo, hi := 0.0, 0.0
	for _, md := range extractModalities {
		var rows []extractRow
		for _, r := range rep.Rows {
			if r.Modality == string(md) {
				rows = append(rows, r)
			}
		}
		if len(rows) == 0 {
			continue
		}
		for _, way := range []string{"pipeline", "EncodeBatch", "bare ORT"} {
			xys := make(plotter.XYs, len(rows))
			for i, r := range rows {
				xys[i].X = float64(r.Batch)
				xys[i].Y = map[string]float64{"pipeline": r.Pipeline.PerSecond, "EncodeBatch": r.EncodeBatch.PerSecond, "bare ORT": r.Bare.PerSecond}[way]
				if xys[i].Y <= 0 {
					return fmt.Errorf("plot %s: %s %s at batch %d has no items/s", path, md, way, r.Batch)
				}
				if lo == 0 || xys[i].Y < lo {
					lo = xys[i].Y
				}
				hi = max(hi, xys[i].Y)
			}
			l, s, err := plotter.NewLinePoints(xys)
			if err != nil {
				return err
			}
			l.Color, s.Color = colors[string(md)], colors[string(md)]
			l.Width = vg.Points(1.5)
			switch way {
			case "EncodeBatch":
				l.Dashes = []vg.Length{vg.Points(1.5), vg.Points(2.5)}
				l.Width = vg.Points(1)
			case "bare ORT":
				l.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
			}
			p.Add(l, s)
			p.Legend.Add(fmt.Sprintf("%s %s", md, way), l, s)
		}
	}
	// Whole decades, so the log axis has labelled ticks at both ends.
	p.Y.Min, p.Y.Max = decadeBelow(lo), decadeAbove(hi)
	var yt []plot.Tick
	for d := p.Y.Min; d <= p.Y.Max*1.001; d *= 10 {
		yt = append(yt, plot.Tick{Value: d, Label: decadeLabel(d)})
	}
	p.Y.Tick.Marker = plot.ConstantTicks(yt)
	if err := p.Save(8*vg.Inch, 5*vg.Inch, path); err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	return nil
}

// decadeLabel writes a power of ten as 1, 10, 100, 1k ... 1M, 10M ...
func decadeLabel(d float64) string {
	switch {
	case d >= 1e6:
		return strconv.FormatFloat(d/1e6, 'f', -1, 64) + "M"
	case d >= 1e3:
		return strconv.FormatFloat(d/1e3, 'f', -1, 64) + "k"
	}
	return strconv.FormatFloat(d, 'f', -1, 64)
}

func decadeBelow(v float64) float64 {
	d := 1.0
	for d*10 <= v {
		d *= 10
	}
	for d > v {
		d /= 10
	}
	return d
}

func decadeAbove(v float64) float64 {
	d := 1.0
	for d < v {
		d *= 10
	}
	return d
}
