package throughput

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/extractors/onnx"
	"github.com/vitrinehq/vitrine/models"
	"github.com/vitrinehq/vitrine/models/verify"
)

// MaxBatch bounds the batch sizes of an extract benchmark: beyond it one
// image batch alone takes seconds and gigabytes.
const MaxBatch = 1024

// ExtractModalities are the modalities an extract benchmark knows, in
// report order.
func ExtractModalities() []models.Modality {
	return []models.Modality{models.Text, models.Image, models.Audio}
}

// ExtractRow is one modality at one batch size.
type ExtractRow struct {
	Modality string `json:"modality"`
	Model    string `json:"model"`
	Batch    int    `json:"batch"`
	// Pipeline is Batch concurrent Encode calls through the encoder's
	// dynamic batcher (max batch = Batch), as the API serves requests.
	Pipeline Result `json:"pipeline"`
	// EncodeBatch is one EncodeBatch call of Batch items, as ingestion and
	// backfill encode (no batcher).
	EncodeBatch Result `json:"encode_batch"`
	// Bare is the model alone: plain ONNX Runtime sessions on tensors
	// prepared beforehand for the same Batch items.
	Bare              Result             `json:"bare"`
	BareMetrics       map[string]float64 `json:"bare_metrics,omitempty"`
	PipelineVsBare    float64            `json:"pipeline_vs_bare"`
	EncodeBatchVsBare float64            `json:"encode_batch_vs_bare"`
	// PipelineVsBatch1 and BareVsBatch1 divide by the same path's items/s
	// at batch 1.
	PipelineVsBatch1 float64 `json:"pipeline_vs_batch1"`
	BareVsBatch1     float64 `json:"bare_vs_batch1"`
}

// ExtractInput says what one modality was fed.
type ExtractInput struct {
	Modality string `json:"modality"`
	Model    string `json:"model"`
	Source   string `json:"source"`
	Distinct int    `json:"distinct_inputs"`
}

// ExtractReport is what an extract benchmark measured.
type ExtractReport struct {
	Date     string         `json:"date"`
	CPUs     int            `json:"cpus"`
	Budget   string         `json:"budget"`
	MaxWait  string         `json:"max_wait"`
	Threads  Threads        `json:"ort_threads"`
	Inputs   []ExtractInput `json:"inputs"`
	Rows     []ExtractRow   `json:"rows"`
	Seconds  float64        `json:"seconds"`
	ORT      string         `json:"onnxruntime"`
	Provider string         `json:"provider"`
}

// ExtractConfig is how the service opens its encoders, which every cell
// copies, and where the inputs come from.
type ExtractConfig struct {
	ModelDir  string
	MaxWait   time.Duration
	QueueSize int
	Threads   Threads
	Logger    *slog.Logger
	// Assets is the mirror directory of the data sets ("" when none);
	// Photos and AudioDir override the images and audio it holds.
	Assets, Photos, AudioDir string
	// Progress, when set, gets a line per modality and per cell.
	Progress io.Writer
}

// Extract measures each model of plan at each batch size (sizes sorted,
// starting with 1, the batch baseline; see ParseBatches) on its real
// inputs (ExtractInputs).
func Extract(ctx context.Context, rt *onnx.Runtime, plan []models.Manifest, sizes []int, budget Budget, cfg ExtractConfig) (ExtractReport, error) {
	rep := ExtractReport{Date: time.Now().UTC().Format(time.RFC3339), CPUs: runtime.NumCPU(), Budget: budget.String(),
		MaxWait: cfg.MaxWait.String(), Threads: cfg.Threads, ORT: rt.Version(), Provider: string(rt.Provider())}
	progress := cfg.Progress
	if progress == nil {
		progress = io.Discard
	}
	start := time.Now()
	for _, m := range plan {
		pool, src, err := ExtractInputs(m, cfg.Assets, cfg.Photos, cfg.AudioDir)
		if err != nil {
			return rep, err
		}
		rep.Inputs = append(rep.Inputs, ExtractInput{Modality: string(m.Modality), Model: m.Key(), Source: src, Distinct: len(pool)})
		fmt.Fprintf(progress, "%s (%s): %s\n", m.Modality, m.Key(), src)
		var first ExtractRow
		for _, n := range sizes {
			row, err := ExtractCell(ctx, rt, m, Cycle(pool, n), budget, cfg)
			if err != nil {
				return rep, fmt.Errorf("%s at batch %d: %w", m.Modality, n, err)
			}
			if n == 1 {
				first = row
			}
			row.PipelineVsBatch1 = Ratio(row.Pipeline.PerSecond, first.Pipeline.PerSecond)
			row.BareVsBatch1 = Ratio(row.Bare.PerSecond, first.Bare.PerSecond)
			rep.Rows = append(rep.Rows, row)
			fmt.Fprintf(progress, "  batch %-4d pipeline %s  EncodeBatch %s  bare %s items/s\n", n,
				FormatRate(row.Pipeline.PerSecond), FormatRate(row.EncodeBatch.PerSecond), FormatRate(row.Bare.PerSecond))
		}
	}
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

// openPaths opens what one cell compares: an encoder whose dynamic batcher
// takes exactly len(batch) items, and bare sessions of the same graphs for
// the same items (they borrow the ORT environment the encoder's Runtime
// holds).
func openPaths(ctx context.Context, rt *onnx.Runtime, m models.Manifest, dir string, batch [][]byte, cfg ExtractConfig) (extractors.Encoder, *Bare, error) {
	n := len(batch)
	enc, err := extractors.Open(ctx, rt, m, dir, extractors.Options{MaxBatch: n, MaxWait: cfg.MaxWait,
		QueueSize: max(cfg.QueueSize, n), Logger: cfg.Logger})
	if err != nil {
		return nil, nil, err
	}
	bare, err := OpenBare(ctx, m, dir, batch, cfg.Threads)
	if err != nil {
		enc.Close()
		return nil, nil, err
	}
	return enc, bare, nil
}

// ExtractCell measures one modality at one batch size: an encoder whose
// dynamic batcher takes exactly that batch, bare sessions for the same
// items, and the three paths interleaved.
func ExtractCell(ctx context.Context, rt *onnx.Runtime, m models.Manifest, batch [][]byte, budget Budget, cfg ExtractConfig) (ExtractRow, error) {
	n := len(batch)
	row := ExtractRow{Modality: string(m.Modality), Model: m.Key(), Batch: n}
	enc, bare, err := openPaths(ctx, rt, m, cfg.ModelDir, batch, cfg)
	if err != nil {
		return row, err
	}
	defer enc.Close()
	defer bare.Close()
	res, err := Interleave(ctx, []Runner{
		{Name: "pipeline", Items: n, Run: func(ctx context.Context) error { return Served(ctx, enc, batch) }},
		{Name: "EncodeBatch", Items: n, Run: func(ctx context.Context) error { return EncodeBatch(ctx, enc, batch) }},
		{Name: "bare ORT", Items: n, Run: bare.Run},
	}, budget)
	if err != nil {
		return row, err
	}
	row.Pipeline, row.EncodeBatch, row.Bare, row.BareMetrics = res[0], res[1], res[2], bare.Metrics
	row.PipelineVsBare = Ratio(row.Pipeline.PerSecond, row.Bare.PerSecond)
	row.EncodeBatchVsBare = Ratio(row.EncodeBatch.PerSecond, row.Bare.PerSecond)
	return row, nil
}

// ExtractInputs are one modality's real inputs and where they came from.
// Text: synthetic product texts. Image: the photos listed in photos (a
// Grocery Store Dataset photos file), by default
// <assets>/data/grocery/photos_dev.txt, else the demo catalog's photos,
// else synthesised images. Audio: the WAV files of audioDir, by default
// <assets>/data/audio/fsdd, else synthesised tones. An explicit photos or
// audioDir that cannot be read is an error.
func ExtractInputs(m models.Manifest, assets, photos, audioDir string) ([][]byte, string, error) {
	switch m.Modality {
	case models.Text:
		const n = 64
		return ProductTexts(n), fmt.Sprintf("%d synthetic product texts (title. brand. category. description)", n), nil
	case models.Image:
		return imageInputs(assets, photos)
	case models.Audio:
		return audioInputs(m, assets, audioDir)
	}
	return nil, "", fmt.Errorf("no inputs for modality %q", m.Modality)
}

func imageInputs(assets, photos string) ([][]byte, string, error) {
	list, explicit := photos, photos != ""
	if !explicit && assets != "" {
		list = filepath.Join(assets, "data", "grocery", "photos_dev.txt")
	}
	if list != "" {
		paths, err := PhotoList(list)
		if err == nil {
			var pool [][]byte
			if pool, err = ReadFiles(paths); err == nil {
				return pool, fmt.Sprintf("%d Grocery Store Dataset shop photos listed in %s", len(pool), list), nil
			}
		}
		if explicit || !errors.Is(err, fs.ErrNotExist) {
			return nil, "", fmt.Errorf("photos %s: %w", list, err)
		}
	}
	dir := filepath.Join("demo", "grocery", "images")
	if paths, err := Files(dir, ".jpg", ".jpeg", ".png"); err == nil && len(paths) > 0 {
		pool, err := ReadFiles(paths)
		return pool, fmt.Sprintf("%d demo catalog photos in %s (no photos_dev.txt found: set --photos or assets)", len(pool), dir), err
	}
	pool, desc, err := verify.SynthImages()
	return pool, desc + " (no photos found: set --photos or assets)", err
}

func audioInputs(m models.Manifest, assets, audioDir string) ([][]byte, string, error) {
	dir, explicit := audioDir, audioDir != ""
	if !explicit && assets != "" {
		dir = filepath.Join(assets, "data", "audio", "fsdd")
	}
	if dir != "" {
		paths, err := Files(dir, ".wav")
		if err == nil && len(paths) == 0 {
			err = fmt.Errorf("no .wav files in %s", dir)
		}
		if err == nil {
			pool, err := ReadFiles(paths)
			return pool, fmt.Sprintf("%d WAV files in %s", len(pool), dir), err
		}
		if explicit || !errors.Is(err, fs.ErrNotExist) {
			return nil, "", fmt.Errorf("audio %s: %w", dir, err)
		}
	}
	pool, desc := verify.SynthWAVs(m)
	return pool, desc + " (no FSDD clips found: set --audio or assets)", nil
}

// ParseModalities reads a comma-separated list of modalities, without
// repeats.
func ParseModalities(s string) ([]models.Modality, error) {
	var out []models.Modality
	for f := range strings.SplitSeq(s, ",") {
		md := models.Modality(strings.ToLower(strings.TrimSpace(f)))
		if !slices.Contains(ExtractModalities(), md) {
			return nil, fmt.Errorf("unknown modality %q (want text, image or audio)", strings.TrimSpace(f))
		}
		if !slices.Contains(out, md) {
			out = append(out, md)
		}
	}
	return out, nil
}

// ParseBatches reads a comma-separated list of batch sizes from 1 to
// MaxBatch: sorted, without repeats, with 1 (the batch baseline) added.
func ParseBatches(s string) ([]int, error) {
	out := []int{1}
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > MaxBatch {
			return nil, fmt.Errorf("%q is not an integer from 1 to %d", strings.TrimSpace(f), MaxBatch)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}

// Ratio is a/b, 0 when b is 0.
func Ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// FormatRate prints items/s with sensible precision.
func FormatRate(v float64) string {
	if v >= 100 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}
