package throughput

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/models"
)

// ExtractText writes the report as `vitrine bench extract` prints it: the
// setting, each modality's model and inputs, then the table (PrintExtract).
func ExtractText(w io.Writer, rep ExtractReport) error {
	fmt.Fprintf(w, "encoder throughput, %s, ONNX Runtime %s (%s), %d CPUs, %.0fs\n", rep.Budget, rep.ORT, rep.Provider, rep.CPUs, rep.Seconds)
	for _, in := range rep.Inputs {
		fmt.Fprintf(w, "  %s: %s: %s\n", in.Modality, in.Model, in.Source)
	}
	return PrintExtract(w, rep)
}

// Plan is the manifest of each modality of mods, configured[md] naming its
// model. A modality asked for explicitly must have a model; otherwise an
// unconfigured one is skipped with a line to skipped.
func Plan(ms []models.Manifest, mods []models.Modality, configured map[models.Modality]string, asked bool, skipped io.Writer) ([]models.Manifest, error) {
	var plan []models.Manifest
	for _, md := range mods {
		name := configured[md]
		if name == "" {
			if asked {
				return nil, fmt.Errorf("--modality %s: models.%s is empty (no %s model configured)", md, md, md)
			}
			fmt.Fprintf(skipped, "skipping %s: models.%s is empty\n", md, md)
			continue
		}
		m, ok := models.Find(ms, name)
		if !ok {
			return nil, fmt.Errorf("models.%s: %w: %q", md, extractors.ErrUnknownModel, name)
		}
		plan = append(plan, m)
	}
	if len(plan) == 0 {
		return nil, errors.New("--modality: no configured model to measure")
	}
	return plan, nil
}

// DatabasePrefix starts the name of every database the ingest benchmark
// creates: it drops it first, so it must never be another's.
const DatabasePrefix = "vitrine_bench_ingest"

// IngestPlan is what `vitrine bench ingest` measures: Products text-only
// products with a live index and again with a deferred one, and with
// Images ImageProducts products with a photo each, the same two ways (the
// break-even of building the indexes after a load), in database Database,
// BatchSize rows at a time.
type IngestPlan struct {
	Products, ImageProducts, BatchSize int
	Images                             bool
	Database                           string
}

// Check rejects a plan that cannot run; BatchSize 0 means the configured
// one.
func (p IngestPlan) Check() error {
	switch {
	case p.Products < 1:
		return fmt.Errorf("--products %d: want at least 1", p.Products)
	case p.ImageProducts < 1:
		return fmt.Errorf("--image-products %d: want at least 1", p.ImageProducts)
	case p.BatchSize < 0:
		return fmt.Errorf("--batch-size %d: want at least 1 (0: ingest.batch_size)", p.BatchSize)
	case !strings.HasPrefix(p.Database, DatabasePrefix):
		return fmt.Errorf("--database %q: want a name starting with %s (the database is dropped and recreated)", p.Database, DatabasePrefix)
	}
	return nil
}

// Cases are the plan's cases in the order they run.
func (p IngestPlan) Cases() []IngestCase {
	cases := []IngestCase{{Name: "text, live index", Products: p.Products}, {Name: "text, deferred index", Products: p.Products, Deferred: true}}
	if p.Images {
		n := min(p.ImageProducts, p.Products)
		cases = append(cases, IngestCase{Name: "text+image, live index", Products: n, Images: true},
			IngestCase{Name: "text+image, deferred index", Products: n, Images: true, Deferred: true})
	}
	return cases
}

// IngestText writes the report as `vitrine bench ingest` prints it: the
// setting, the photos used, then the table (PrintIngest).
func IngestText(w io.Writer, rep IngestReport) error {
	fmt.Fprintf(w, "ingest throughput, database %s, batch size %d, %d batches in flight, %d CPUs, %.0fs\n", rep.Database, rep.BatchSize, rep.Concurrency, rep.CPUs, rep.Seconds)
	if rep.Images != "" {
		fmt.Fprintf(w, "  images: %s\n", rep.Images)
	}
	return PrintIngest(w, rep)
}

// Line is the row in one line, as progress output after its case: the
// ingest time and rates, how the indexes were kept, the models' rate
// alone before and after, and the database's size.
func (r IngestRow) Line() string {
	before, after := "-", "-"
	if len(r.ModelsOnly.Rounds) >= 2 {
		before, after = FormatRate(r.ModelsOnly.Rounds[0]), FormatRate(r.ModelsOnly.Rounds[1])
	}
	return fmt.Sprintf("  ingest %.1fs (%s products/s; first quarter %s, last quarter %s), %s, models alone %s items/s (before %s, after %s), database %.1f MiB",
		r.IngestSeconds, FormatRate(r.IngestRate), FormatRate(r.FirstQuarter), FormatRate(r.LastQuarter),
		IndexNote(r), FormatRate(r.ModelsOnly.PerSecond), before, after, MiB(r.DatabaseBytes)) + "\n" + r.CPU.Line()
}

// Assets is the mirror directory of the data sets: configured when set,
// else ../shared when it exists (as scripts/setup and scripts/test default
// it), else "". The result is absolute.
func Assets(configured string) string {
	if configured == "" {
		if st, err := os.Stat(filepath.Join("..", "shared")); err != nil || !st.IsDir() {
			return ""
		}
		configured = filepath.Join("..", "shared")
	}
	if abs, err := filepath.Abs(configured); err == nil {
		return abs
	}
	return configured
}
