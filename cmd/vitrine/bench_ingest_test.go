package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitrinehq/vitrine/bench/throughput"
	"github.com/vitrinehq/vitrine/internal/config"
	"github.com/vitrinehq/vitrine/internal/synth"
	"github.com/vitrinehq/vitrine/internal/testdb"
	"github.com/vitrinehq/vitrine/internal/testenv"
)

// benchCatalogSize is the products one iteration ingests: 16 batches of
// the default 64, enough that per-run setup is noise next to the batches.
const benchCatalogSize = 1024

// BenchmarkIngest ingests synthetic catalogs in-process the way `vitrine
// ingest` does (JSON Lines parsing, ingest.Run, the real store on a test
// database, the configured encoders and the indexer, built by the same app
// methods as the command), and beside it runs those encoders alone on the
// same inputs (EncodeBatch, a batch of 64 at a time, inputs already in
// memory).
// ingest reports products/s; model-only reports items/s, an item being one
// product's inputs through every model of the space. Their ratio is the
// share of ingest throughput left after everything outside the models:
// parsing, hashing, media reads, database round trips and fusion. The
// measuring code is package bench/throughput's, shared with `vitrine bench
// ingest`.
//
//	go test ./cmd/vitrine/ -run '^$' -bench BenchmarkIngest -benchtime 3x
func BenchmarkIngest(b *testing.B) {
	images, err := filepath.Glob(filepath.Join(testenv.Root(b), "demo", "grocery", "images", "*.jpg"))
	if err != nil || len(images) == 0 {
		b.Fatalf("demo images: %v", err)
	}
	cases := []struct {
		name        string
		imageWeight float64
		catalog     synth.Options
	}{
		{"text-only", 0, synth.Options{Seed: 5}},
		{"text+image", 0.5, synth.Options{Seed: 5, Images: images, ImageEvery: 1}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			h := newIngestBench(b, c.imageWeight)
			// next is the index of the next product never ingested: every
			// iteration (and every run of the sub-benchmark) takes fresh
			// ids, so nothing is skipped as unchanged.
			next := 0
			fresh := func(n int) []byte {
				data := throughput.Catalog(c.catalog, next, n)
				next += n
				return data
			}
			ingest := func(data []byte) {
				if _, err := h.Run(b.Context(), data, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.Run("ingest", func(b *testing.B) {
				ingest(fresh(h.BatchSize)) // warm-up: sessions, connections, caches
				b.ResetTimer()
				for range b.N {
					b.StopTimer()
					data := fresh(benchCatalogSize)
					b.StartTimer()
					ingest(data)
				}
				b.StopTimer()
				b.ReportMetric(float64(benchCatalogSize*b.N)/b.Elapsed().Seconds(), "products/s")
			})
			b.Run("model-only", func(b *testing.B) {
				inputs, err := h.ModelInputs(b.Context(), throughput.Catalog(c.catalog, 0, benchCatalogSize))
				if err != nil {
					b.Fatal(err)
				}
				// warm-up
				if err := h.Encode(b.Context(), inputs, 0, h.BatchSize); err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				for range b.N {
					if err := h.Encode(b.Context(), inputs, 0, benchCatalogSize); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(benchCatalogSize*b.N)/b.Elapsed().Seconds(), "items/s")
			})
		})
	}
}

// newIngestBench wires a database, ONNX Runtime, the encoders the fusion
// weights call for, the vector space and the indexer exactly as `vitrine
// ingest` does, from the effective configuration (so VITRINE_ORT_* and
// friends apply) with the test database and the module's models.
func newIngestBench(b *testing.B, imageWeight float64) *throughput.Ingest {
	ctx := b.Context()
	cfg, err := config.Load("", os.Environ)
	if err != nil {
		b.Fatal(err)
	}
	cfg.Home = testenv.Home(b)
	cfg.Models.Manifests = filepath.Join(testenv.Root(b), "models")
	cfg.Database.URL = testdb.URL(b)
	cfg.Fusion.TextWeight, cfg.Fusion.ImageWeight, cfg.Fusion.AudioWeight = 0.5, imageWeight, 0
	a := &app{cfg: cfg, log: slog.New(slog.DiscardHandler)}

	st, err := a.openStore(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(st.Close)
	rt, err := a.runtime(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { rt.Close() })
	set, err := a.encoders(ctx, rt, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { set.Close() })
	spec, err := a.fusionSpec(set)
	if err != nil {
		b.Fatal(err)
	}
	space, err := a.activeSpace(ctx, st, spec)
	if err != nil {
		b.Fatal(err)
	}
	return &throughput.Ingest{Store: st, Space: space, Indexer: a.indexer(st, set), Encoders: set.Encoders(),
		Keypoints: cfg.Image.ExtractsKeypoints(), BatchSize: cfg.Ingest.BatchSize, Logger: a.log}
}

func TestBenchIngest(t *testing.T) {
	e := newEnv(t)
	// The bench makes (and drops and remakes) its own database on the
	// test's server: a name of this process's, dropped after.
	db := fmt.Sprintf("vitrine_bench_ingest_test_%d", os.Getpid())
	t.Cleanup(func() {
		admin, err := testdb.AdminURL(context.Background())
		if err == nil {
			_ = testdb.Drop(context.Background(), admin, db)
		}
	})
	dir := t.TempDir()
	jsonOut, mdOut := filepath.Join(dir, "bi.json"), filepath.Join(dir, "bi.md")
	code, txt := e.run("bench", "ingest", "--products", "300", "--images", "--image-products", "100",
		"--image-dir", filepath.Join(testenv.Root(t), "demo", "grocery", "images"), "--database", db, "--json", jsonOut, "--md", mdOut)
	if code != 0 {
		t.Fatalf("bench ingest: exit %d\n%s", code, txt)
	}
	if !strings.Contains(txt, "MODELS ALONE items/s") || !strings.Contains(txt, "81 photos in") {
		t.Errorf("output:\n%s", txt)
	}
	b, err := os.ReadFile(jsonOut)
	if err != nil {
		t.Fatal(err)
	}
	var rep throughput.IngestReport
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("JSON report: %v\n%s", err, b)
	}
	want := []struct {
		name     string
		products int
		models   int
		index    string
	}{{"text, live index", 300, 1, "live"}, {"text, deferred index", 300, 1, "deferred"}, {"text+image, live index", 100, 2, "live"}, {"text+image, deferred index", 100, 2, "deferred"}}
	if len(rep.Rows) != len(want) {
		t.Fatalf("rows %+v: want %d", rep.Rows, len(want))
	}
	for i, w := range want {
		r := rep.Rows[i]
		if r.Case != w.name || r.Products != w.products || len(r.Models) != w.models || r.Index != w.index {
			t.Errorf("row %d: %s, %d products, models %v, index %s: want %+v", i, r.Case, r.Products, r.Models, r.Index, w)
		}
		if !(r.IngestRate > 0 && r.FirstQuarter > 0 && r.LastQuarter > 0 && r.TotalRate > 0 && r.ModelsOnly.PerSecond > 0 &&
			r.IngestVsModel > 0 && r.DatabaseBytes > r.EmptyBytes && r.EmptyBytes > 0) {
			t.Errorf("%s: want positive rates, baseline, ratio and size: %+v", r.Case, r)
		}
		if len(r.ModelsOnly.Rounds) != 2 {
			t.Errorf("%s: baseline rounds %v: want before and after", r.Case, r.ModelsOnly.Rounds)
		}
		if (r.IndexSeconds > 0) != (w.index == "deferred") {
			t.Errorf("%s: index build %.2fs", r.Case, r.IndexSeconds)
		}
		// The case database's backends did the writes; the process's CPU
		// time is the models' and the rest of Vitrine's.
		if c := r.CPU; !(c.ProcessSeconds > 0 && c.DatabaseSeconds > 0 && c.Bound > 0 && c.Bound < 1) {
			t.Errorf("%s: CPU split %+v: want process and database time, and a ratio in (0, 1)", r.Case, c)
		}
	}
	md, err := os.ReadFile(mdOut)
	if err != nil || !strings.Contains(string(md), "| text, deferred index | 300 |") {
		t.Errorf("Markdown report (%v):\n%s", err, md)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--products", "0"}, "--products"},
		{[]string{"--image-products", "0"}, "--image-products"},
		{[]string{"--database", "vitrine_bench_1000000"}, "--database"},
		{[]string{"--images", "--image-dir", dir}, "--image-dir"},
	} {
		code, txt := e.run(append([]string{"bench", "ingest", "--database", db}, c.args...)...)
		if code == 0 || !strings.Contains(txt, c.want) {
			t.Errorf("bench ingest %v: exit %d, want non-zero and a message naming %s:\n%s", c.args, code, c.want, txt)
		}
	}
}
