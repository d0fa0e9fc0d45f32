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
// packshots (absolute paths, so the catalog needs no directory).
func imageCatalog(t *testing.T, n int) []byte {
	t.Helper()
	images, err := filepath.Glob(filepath.Join(testenv.Root(t), "demo", "grocery", "images", "*.jpg"))
	if err != nil || len(images) < n {
		t.Fatalf("demo images: %d found, %v; want %d", len(images), err, n)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for i := range n {
		name := strings.TrimSuffix(filepath.Base(images[i]), ".jpg")
		row := map[string]any{"id": fmt.Sprintf("p%02d", i), "title": strings.ReplaceAll(name, "-", " ") + " grocery product", "images": []string{images[i]}}
		if err := enc.Encode(row); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

// TestRunDeferredIndexesIntoPostgreSQL ingests text+image products into an
// empty database, with the real models, whose space and model indexes
// were built as `vitrine serve` builds them: the run drops the three HNSW
// indexes, loads, and builds them again. All three must exist at the end,
// and the space and both models must answer nearest-neighbour queries.
func TestRunDeferredIndexesIntoPostgreSQL(t *testing.T) {
	const products = 24
	ctx := t.Context()
	st, err := store.Open(ctx, testdb.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	set, err := extractors.LoadSet(ctx, testenv.Runtime(t), testenv.Manifests(t), testenv.ModelDir(t),
		[]string{testenv.Manifest(t, "glove-100d").Name, testenv.Manifest(t, "mobilenetv2-int8").Name}, extractors.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { set.Close() })
	text, okText := set.ByModality(models.Text)
	img, okImage := set.ByModality(models.Image)
	if !okText || !okImage {
		t.Fatal("the text and image models did not load")
	}
	spec := fusion.Spec{Strategy: fusion.WeightedConcat, Components: []fusion.Component{
		{Model: text.Key(), Modality: string(models.Text), Dim: text.Dim(), Weight: 0.5},
		{Model: img.Key(), Modality: string(models.Image), Dim: img.Dim(), Weight: 0.5},
	}}
	sp, err := st.CreateSpace(ctx, records.NewSpace{Spec: spec.JSON(), Dim: spec.Dim()})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.ActivateSpace(ctx, sp.Version); err != nil {
		t.Fatal(err)
	}
	indexes := []ingest.ModelIndex{{Model: text.Key(), Dim: text.Dim()}, {Model: img.Key(), Dim: img.Dim()}}
	if err := ingest.EnsureIndexes(ctx, st, sp.Version, indexes); err != nil {
		t.Fatal(err)
	}
	rd, err := ingest.NewReader(bytes.NewReader(imageCatalog(t, products)), ingest.JSONL, "")
	if err != nil {
		t.Fatal(err)
	}
	var logs, rejects bytes.Buffer
	sum, err := ingest.Run(ctx, rd, ingest.Options{Space: sp, Writer: st, BatchSize: 8, Rejects: &rejects,
		Indexer:      indexer.New(st, ingest.NewMediaLoader(), []indexer.Encoder{text, img}),
		DeferIndexes: ingest.IndexDeferral{Store: st, Models: indexes, Below: ingest.DefaultDeferIndexesBelow},
		Logger:       slog.New(slog.NewTextHandler(&logs, nil))})
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
	for _, m := range indexes {
		nearestIsItself(t, st, records.NearestQuery{Model: m.Model, K: 1}, func(ids []string) (map[string][]float32, error) {
			return st.ModelVectors(ctx, m.Model, ids)
		})
	}
	// Dropping reports whether each index existed: all three must have.
	if existed, err := st.DropSpaceIndex(ctx, sp.Version); err != nil || !existed {
		t.Errorf("space %d's HNSW index after the load: existed %v, %v", sp.Version, existed, err)
	}
	for _, m := range indexes {
		if existed, err := st.DropModelIndex(ctx, m.Model); err != nil || !existed {
			t.Errorf("model %s's HNSW index after the load: existed %v, %v", m.Model, existed, err)
		}
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
