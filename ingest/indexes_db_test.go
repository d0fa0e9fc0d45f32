package ingest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/fusion"
	"github.com/vitrinehq/vitrine/indexer"
	"github.com/vitrinehq/vitrine/ingest"
	"github.com/vitrinehq/vitrine/internal/testdb"
	"github.com/vitrinehq/vitrine/internal/testenv"
	"github.com/vitrinehq/vitrine/models"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/store"
)

// imageCatalog is n products, each with a title and one of the demo's
// packshots (absolute paths, so the catalog needs no directory), each
// packshot once while they last.
func imageCatalog(t testing.TB, n int) []byte {
	t.Helper()
	images, err := filepath.Glob(filepath.Join(testenv.Root(t), "demo", "grocery", "images", "*.jpg"))
	if err != nil || len(images) == 0 {
		t.Fatalf("demo images: %v", err)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for i := range n {
		image := images[i%len(images)]
		name := strings.TrimSuffix(filepath.Base(image), ".jpg")
		row := map[string]any{"id": fmt.Sprintf("p%02d", i), "title": strings.ReplaceAll(name, "-", " ") + " grocery product", "images": []string{image}}
		if err := enc.Encode(row); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

// textImage is the real text and image models, with the fusion of both
// and their model indexes as `vitrine serve` builds them.
type textImage struct {
	encoders []indexer.Encoder
	indexes  []ingest.ModelIndex
	spec     fusion.Spec
}

func loadTextImage(tb testing.TB) textImage {
	tb.Helper()
	set, err := extractors.LoadSet(tb.Context(), testenv.Runtime(tb), testenv.Manifests(tb), testenv.ModelDir(tb),
		[]string{testenv.Manifest(tb, "glove-100d").Name, testenv.Manifest(tb, "mobilenetv2-int8").Name}, extractors.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { set.Close() })
	text, okText := set.ByModality(models.Text)
	img, okImage := set.ByModality(models.Image)
	if !okText || !okImage {
		tb.Fatal("the text and image models did not load")
	}
	return textImage{
		encoders: []indexer.Encoder{text, img},
		indexes:  []ingest.ModelIndex{{Model: text.Key(), Dim: text.Dim()}, {Model: img.Key(), Dim: img.Dim()}},
		spec: fusion.Spec{Strategy: fusion.WeightedConcat, Components: []fusion.Component{
			{Model: text.Key(), Modality: string(models.Text), Dim: text.Dim(), Weight: 0.5},
			{Model: img.Key(), Modality: string(models.Image), Dim: img.Dim(), Weight: 0.5},
		}},
	}
}

// emptyCatalog opens a fresh database with an active space of m's fusion
// and its three HNSW indexes built, as `vitrine serve` leaves it.
func (m textImage) emptyCatalog(tb testing.TB) (*store.Store, records.Space) {
	tb.Helper()
	ctx := tb.Context()
	st, err := store.Open(ctx, testdb.URL(tb))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(st.Close)
	sp, err := st.CreateSpace(ctx, records.NewSpace{Spec: m.spec.JSON(), Dim: m.spec.Dim()})
	if err != nil {
		tb.Fatal(err)
	}
	if err := st.ActivateSpace(ctx, sp.Version); err != nil {
		tb.Fatal(err)
	}
	if err := ingest.EnsureIndexes(ctx, st, sp.Version, m.indexes); err != nil {
		tb.Fatal(err)
	}
	return st, sp
}

// options are a run's options into st with m's models, the indexes
// deferred below the given catalog size (0: live).
func (m textImage) options(st *store.Store, sp records.Space, below int64) ingest.Options {
	return ingest.Options{Space: sp, Writer: st, BatchSize: 8,
		Indexer:      indexer.New(st, ingest.NewMediaLoader(), m.encoders),
		DeferIndexes: ingest.IndexDeferral{Store: st, Models: m.indexes, Below: below}}
}

// TestRunDeferredIndexesIntoPostgreSQL ingests text+image products into an
// empty database, with the real models, whose space and model indexes
// were built as `vitrine serve` builds them: the run drops the three HNSW
// indexes, loads, and builds them again. All three must exist at the end,
// and the space and both models must answer nearest-neighbour queries.
func TestRunDeferredIndexesIntoPostgreSQL(t *testing.T) {
	const products = 24
	ctx := t.Context()
	m := loadTextImage(t)
	st, sp := m.emptyCatalog(t)
	rd, err := ingest.NewReader(bytes.NewReader(imageCatalog(t, products)), ingest.JSONL, "")
	if err != nil {
		t.Fatal(err)
	}
	var logs, rejects bytes.Buffer
	o := m.options(st, sp, ingest.DefaultDeferIndexesBelow)
	o.Rejects, o.Logger = &rejects, slog.New(slog.NewTextHandler(&logs, nil))
	sum, err := ingest.Run(ctx, rd, o)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Inserted != products || sum.Indexed != products || sum.Rejected != 0 || sum.Warnings != 0 {
		t.Fatalf("summary %+v, rejects:\n%s", sum, rejects.String())
	}
	if !strings.Contains(logs.String(), "built the HNSW indexes after the load") {
		t.Errorf("the run did not build its indexes after the load; its log:\n%s", logs.String())
	}
	nearestIsItself(t, st, records.NearestQuery{Space: sp.Version, K: 1}, func(ids []string) (map[string][]float32, error) {
		return st.ProductVectors(ctx, sp.Version, ids)
	})
	for _, mi := range m.indexes {
		nearestIsItself(t, st, records.NearestQuery{Model: mi.Model, K: 1}, func(ids []string) (map[string][]float32, error) {
			return st.ModelVectors(ctx, mi.Model, ids)
		})
	}
	// Dropping reports whether each index existed: all three must have.
	if existed, err := st.DropSpaceIndex(ctx, sp.Version); err != nil || !existed {
		t.Errorf("space %d's HNSW index after the load: existed %v, %v", sp.Version, existed, err)
	}
	for _, mi := range m.indexes {
		if existed, err := st.DropModelIndex(ctx, mi.Model); err != nil || !existed {
			t.Errorf("model %s's HNSW index after the load: existed %v, %v", mi.Model, existed, err)
		}
	}
}

// BenchmarkRunDeferredIndexes loads 600 text+image products (the demo's
// packshots, repeated) into an empty database with the three HNSW indexes
// live, and with ingest's deferral building them after the load; each op
// gets a fresh database. products/s counts the build. Compare the two
// cases of one run only: other work on the machine moves both.
func BenchmarkRunDeferredIndexes(b *testing.B) {
	const products = 600
	m := loadTextImage(b)
	data := imageCatalog(b, products)
	for _, c := range []struct {
		name  string
		below int64
	}{{"live", 0}, {"deferred", ingest.DefaultDeferIndexesBelow}} {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				st, sp := m.emptyCatalog(b)
				rd, err := ingest.NewReader(bytes.NewReader(data), ingest.JSONL, "")
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				o := m.options(st, sp, c.below)
				o.BatchSize = 0 // ingest's default, as `vitrine ingest` runs
				sum, err := ingest.Run(b.Context(), rd, o)
				if err != nil || sum.Indexed != products {
					b.Fatalf("summary %+v, %v", sum, err)
				}
			}
			b.ReportMetric(float64(products*b.N)/b.Elapsed().Seconds(), "products/s")
		})
	}
}

// nearestIsItself asks q for the nearest neighbour of product p05's own
// vector (read by vectors) and expects p05.
func nearestIsItself(t *testing.T, st *store.Store, q records.NearestQuery, vectors func([]string) (map[string][]float32, error)) {
	t.Helper()
	vs, err := vectors([]string{"p05"})
	if err != nil || vs["p05"] == nil {
		t.Fatalf("p05's vector (space %d, model %q): %v, %v", q.Space, q.Model, vs, err)
	}
	q.Vector = vs["p05"]
	hits, err := st.Nearest(t.Context(), q)
	if err != nil || len(hits) != 1 || hits[0].ProductID != "p05" {
		t.Errorf("nearest to p05 (space %d, model %q): %+v, %v", q.Space, q.Model, hits, err)
	}
}
