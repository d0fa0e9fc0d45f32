package throughput

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/fusion"
	"github.com/vitrinehq/vitrine/indexer"
	"github.com/vitrinehq/vitrine/ingest"
	"github.com/vitrinehq/vitrine/internal/synth"
	"github.com/vitrinehq/vitrine/models"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/store"
)

// Baseline budget of an ingest case: the models run at least this long on
// the products' inputs, and stop after one pass or the maximum.
const (
	IngestBaselineMin = time.Second
	IngestBaselineMax = 10 * time.Second
)

// IngestCase is one way of loading.
type IngestCase struct {
	Name     string
	Products int
	// Images gives every product a photo, encoded by the image model too.
	Images bool
	// Deferred builds the indexes once after loading instead of keeping
	// them row by row.
	Deferred bool
}

// IngestRow is one ingestion case as measured.
type IngestRow struct {
	Case     string   `json:"case"`
	Models   []string `json:"models"`
	Index    string   `json:"index"` // live or deferred
	Products int      `json:"products"`
	// IngestSeconds and IngestRate time ingest.Run alone.
	IngestSeconds float64 `json:"ingest_seconds"`
	IngestRate    float64 `json:"ingest_products_per_second"`
	// FirstQuarter and LastQuarter are the rates over the first and the
	// last quarter of the products: whether ingestion slows as the tables
	// and indexes grow.
	FirstQuarter float64 `json:"first_quarter_products_per_second"`
	LastQuarter  float64 `json:"last_quarter_products_per_second"`
	// IndexSeconds is the HNSW build after a deferred load (0 when live).
	IndexSeconds float64 `json:"index_build_seconds"`
	// TotalRate counts the index build too: the rate at which products
	// become searchable.
	TotalRate float64 `json:"products_per_second_with_index"`
	// ModelsOnly is the baseline: the same encoders on the same products'
	// inputs, in memory, ingestion's batch size, measured before and after
	// the load (its rounds) and pooled.
	ModelsOnly    Result  `json:"models_only"`
	IngestVsModel float64 `json:"ingest_vs_models"`
	TotalVsModel  float64 `json:"total_vs_models"`
	DatabaseBytes int64   `json:"database_bytes"`
	// CPU is where the load's CPU time went, beside the models alone's.
	CPU IngestCPU `json:"cpu"`
	// EmptyBytes is the database's size before the load (schema only).
	EmptyBytes int64 `json:"empty_database_bytes"`
}

// IngestReport is what an ingest benchmark measured.
type IngestReport struct {
	Date      string `json:"date"`
	CPUs      int    `json:"cpus"`
	Database  string `json:"database"`
	BatchSize int    `json:"batch_size"`
	// Concurrency is the batches ingest.Run kept in flight.
	Concurrency int    `json:"concurrency"`
	Images      string `json:"images,omitempty"`
	// Keypoints says the cases with images also extracted the catalog
	// images' keypoints, at ingest and in the baseline.
	Keypoints bool        `json:"keypoints,omitempty"`
	Rows      []IngestRow `json:"rows"`
	Seconds   float64     `json:"seconds"`
}

// Encoders are the loaded models by modality; *extractors.Set satisfies
// it.
type Encoders interface {
	ByModality(md models.Modality) (extractors.Encoder, bool)
}

// IngestConfig is ingestion's configuration, as `vitrine ingest` has it.
type IngestConfig struct {
	BatchSize int
	// Concurrency is ingest.Options.Concurrency (0: ingest's default).
	Concurrency   int
	MaxMediaBytes int64
	MediaTimeout  time.Duration
	// Keypoints extracts the catalog images' keypoints at ingest, as
	// `vitrine ingest` does while image.verify_top > 0; the baseline runs
	// the extractor too (Ingest.Keypoints).
	Keypoints bool
	Logger    *slog.Logger
	// Images are the photos of cases with images, one per product in
	// turn (ListImages).
	Images []string
	// Progress, when set, gets the rows ingested after each batch.
	Progress func(rows int)
	// Database is the database's name, which finds its server processes
	// for the CPU split.
	Database string
}

// MeasureIngest loads case c into st, a fresh database, and measures it
// with its baseline: a vector space over the text model (and the image
// model, with images) with live or deferred indexes, synthetic products
// through ingest.Run, the models alone before and after, and the
// database's size before and after.
func MeasureIngest(ctx context.Context, st *store.Store, set Encoders, c IngestCase, cfg IngestConfig) (IngestRow, error) {
	row := IngestRow{Case: c.Name, Products: c.Products, Index: "live"}
	if c.Deferred {
		row.Index = "deferred"
	}
	h, err := prepareCase(ctx, st, set, c, cfg, &row)
	if err != nil {
		return row, err
	}
	o := synth.Options{Seed: 5}
	if c.Images {
		o.Images, o.ImageEvery = cfg.Images, 1
	}
	data := Catalog(o, 0, c.Products)
	inputs, err := h.ModelInputs(ctx, data)
	if err != nil {
		return row, err
	}
	cpu0 := processCPU()
	before, err := h.ModelRate(ctx, inputs, IngestBaselineMin, IngestBaselineMax)
	if err != nil {
		return row, err
	}
	modelCPU := processCPU() - cpu0
	if err := loadCase(ctx, h, c, data, cfg.Progress, &row); err != nil {
		return row, err
	}
	cpu0 = processCPU()
	after, err := h.ModelRate(ctx, inputs, IngestBaselineMin, IngestBaselineMax)
	if err != nil {
		return row, err
	}
	modelCPU += processCPU() - cpu0
	row.CPU.ModelsSeconds = modelCPU.Seconds() * float64(c.Products) / float64(before.Items+after.Items)
	row.CPU.Bound = Ratio(row.CPU.ProcessSeconds, row.CPU.ProcessSeconds+row.CPU.DatabaseSeconds+row.CPU.ServerSeconds)
	row.ModelsOnly = Result{Name: "models only", Items: before.Items + after.Items, Seconds: before.Seconds + after.Seconds,
		Rounds: []float64{before.PerSecond, after.PerSecond}}
	row.ModelsOnly.PerSecond = float64(row.ModelsOnly.Items) / row.ModelsOnly.Seconds
	row.IngestVsModel = Ratio(row.IngestRate, row.ModelsOnly.PerSecond)
	row.TotalVsModel = Ratio(row.TotalRate, row.ModelsOnly.PerSecond)
	row.DatabaseBytes, err = st.DatabaseSize(ctx)
	return row, err
}

// prepareCase creates the case's vector space (and activates it when its
// indexes are live: activating builds the space's index), notes the empty
// database's size, builds the models' embedding indexes when they are
// live, and wires the ingestion.
func prepareCase(ctx context.Context, st *store.Store, set Encoders, c IngestCase, cfg IngestConfig, row *IngestRow) (*Ingest, error) {
	var encs []extractors.Encoder
	spec := fusion.Spec{Strategy: fusion.WeightedConcat}
	for _, md := range []models.Modality{models.Text, models.Image} {
		if md == models.Image && !c.Images {
			continue
		}
		e, ok := set.ByModality(md)
		if !ok {
			return nil, fmt.Errorf("no %s model loaded", md)
		}
		encs = append(encs, e)
		row.Models = append(row.Models, e.Key())
		spec.Components = append(spec.Components, fusion.Component{Model: e.Key(), Modality: string(md), Dim: e.Dim(), Weight: 0.5})
	}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	sp, err := st.CreateSpace(ctx, records.NewSpace{Name: "bench-ingest", Spec: spec.JSON(), Dim: spec.Dim(), DeferIndex: c.Deferred})
	if err != nil {
		return nil, err
	}
	// Activating a space builds its index, so a deferred case's space is
	// activated after its load (loadCase).
	if !c.Deferred {
		if err := st.ActivateSpace(ctx, sp.Version); err != nil {
			return nil, err
		}
	}
	if row.EmptyBytes, err = st.DatabaseSize(ctx); err != nil {
		return nil, err
	}
	h := &Ingest{Store: st, Space: sp, Encoders: encs, Keypoints: cfg.Keypoints && c.Images, BatchSize: cfg.BatchSize, Concurrency: cfg.Concurrency, Logger: cfg.Logger, Database: cfg.Database}
	if !c.Deferred {
		if err := h.buildModelIndexes(ctx); err != nil {
			return nil, err
		}
	}
	ixEncs := make([]indexer.Encoder, len(encs))
	for i, e := range encs {
		ixEncs[i] = e
	}
	media := ingest.NewMediaLoader(ingest.WithMaxMediaBytes(cfg.MaxMediaBytes), ingest.WithMediaTimeout(cfg.MediaTimeout))
	h.Indexer = indexer.New(st, media, ixEncs, indexer.WithLogger(cfg.Logger), indexer.WithKeypoints(h.Keypoints))
	return h, nil
}

// loadCase times ingest.Run over data (with its quarter rates) and, for a
// deferred case, the index build after it.
func loadCase(ctx context.Context, h *Ingest, c IngestCase, data []byte, progress func(rows int), row *IngestRow) error {
	start, cpu0 := time.Now(), processCPU()
	var marks []IngestMark
	server := newServerMeter("/proc", h.Database, 500*time.Millisecond)
	err := server.measure(ctx, func() error {
		_, err := h.Run(ctx, data, func(rows int) {
			marks = append(marks, IngestMark{Rows: rows, At: time.Since(start)})
			if progress != nil {
				progress(rows)
			}
		})
		return err
	})
	if err != nil {
		return err
	}
	row.IngestSeconds = time.Since(start).Seconds()
	row.CPU.ProcessSeconds = (processCPU() - cpu0).Seconds()
	row.CPU.DatabaseSeconds, row.CPU.ServerSeconds = server.seconds()
	row.IngestRate = float64(c.Products) / row.IngestSeconds
	row.FirstQuarter, row.LastQuarter = QuarterRates(marks, c.Products)
	if c.Deferred {
		start := time.Now()
		server := newServerMeter("/proc", h.Database, 500*time.Millisecond)
		err := server.measure(ctx, func() error {
			if err := h.Store.BuildSpaceIndex(ctx, h.Space.Version); err != nil {
				return err
			}
			if err := h.Store.ActivateSpace(ctx, h.Space.Version); err != nil {
				return err
			}
			return h.buildModelIndexes(ctx)
		})
		if err != nil {
			return err
		}
		row.IndexSeconds = time.Since(start).Seconds()
		backends, shared := server.seconds()
		row.CPU.IndexSeconds = backends + shared
	}
	row.TotalRate = float64(c.Products) / (row.IngestSeconds + row.IndexSeconds)
	return nil
}

// buildModelIndexes makes each encoder's embedding index, as serving
// creates them.
func (h *Ingest) buildModelIndexes(ctx context.Context) error {
	for _, e := range h.Encoders {
		if err := h.Store.EnsureModelIndex(ctx, e.Key(), e.Dim()); err != nil {
			return err
		}
	}
	return nil
}

// IngestMark is the rows ingested after some time.
type IngestMark struct {
	Rows int
	At   time.Duration
}

// QuarterRates are the products/s over the batches that cover the first
// quarter of n products, and over those after the third quarter.
func QuarterRates(marks []IngestMark, n int) (first, last float64) {
	if len(marks) == 0 {
		return 0, 0
	}
	end := marks[len(marks)-1]
	for _, m := range marks {
		if m.Rows*4 >= n && first == 0 && m.At > 0 {
			first = float64(m.Rows) / m.At.Seconds()
		}
	}
	// The last mark at or before three quarters starts the last stretch.
	from := IngestMark{}
	for _, m := range marks {
		if m.Rows*4 <= 3*n && m.Rows < end.Rows {
			from = m
		}
	}
	if d := end.At - from.At; d > 0 {
		last = float64(end.Rows-from.Rows) / d.Seconds()
	}
	return first, last
}

// ListImages lists the photos for cases with images: dir searched
// recursively, or by default the demo catalog's photos, else the assets'
// grocery catalog photos. It returns the absolute paths and a description.
func ListImages(dir, assets string) ([]string, string, error) {
	dirs := []string{dir}
	if dir == "" {
		dirs = []string{filepath.Join("demo", "grocery", "images")}
		if assets != "" {
			dirs = append(dirs, filepath.Join(assets, "data", "grocery", "iconic-images-and-descriptions"))
		}
	}
	for _, d := range dirs {
		paths, err := imagesUnder(d)
		if errors.Is(err, fs.ErrNotExist) && dir == "" {
			continue
		}
		if err != nil {
			return nil, "", fmt.Errorf("image dir: %w", err)
		}
		if len(paths) > 0 {
			return paths, fmt.Sprintf("%d photos in %s, one per product in turn", len(paths), d), nil
		}
		if dir != "" {
			return nil, "", fmt.Errorf("image dir %s: no .jpg, .jpeg or .png files", dir)
		}
	}
	return nil, "", fmt.Errorf("no photos in %s", strings.Join(dirs, " or "))
}

// imagesUnder lists the .jpg, .jpeg and .png files under dir, absolute.
func imagesUnder(dir string) ([]string, error) {
	var paths []string
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ext := strings.ToLower(filepath.Ext(p)); !e.IsDir() && slices.Contains([]string{".jpg", ".jpeg", ".png"}, ext) {
			abs, err := filepath.Abs(p)
			if err != nil {
				return err
			}
			paths = append(paths, abs)
		}
		return nil
	})
	return paths, err
}
