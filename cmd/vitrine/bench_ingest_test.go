package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/indexer"
	"github.com/vitrinehq/vitrine/ingest"
	"github.com/vitrinehq/vitrine/internal/config"
	"github.com/vitrinehq/vitrine/internal/synth"
	"github.com/vitrinehq/vitrine/internal/testdb"
	"github.com/vitrinehq/vitrine/internal/testenv"
	"github.com/vitrinehq/vitrine/models"
	"github.com/vitrinehq/vitrine/store"
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
// parsing, hashing, media reads, database round trips and fusion.
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
				data := benchCatalog(b, c.catalog, next, n)
				next += n
				return data
			}
			b.Run("ingest", func(b *testing.B) {
				h.ingest(b, fresh(h.a.cfg.Ingest.BatchSize)) // warm-up: sessions, connections, caches
				b.ResetTimer()
				for range b.N {
					b.StopTimer()
					data := fresh(benchCatalogSize)
					b.StartTimer()
					h.ingest(b, data)
				}
				b.StopTimer()
				b.ReportMetric(float64(benchCatalogSize*b.N)/b.Elapsed().Seconds(), "products/s")
			})
			b.Run("model-only", func(b *testing.B) {
				inputs := h.modelInputs(b, benchCatalog(b, c.catalog, 0, benchCatalogSize))
				h.encode(b, inputs, h.a.cfg.Ingest.BatchSize) // warm-up
				b.ResetTimer()
				for range b.N {
					h.encode(b, inputs, benchCatalogSize)
				}
				b.StopTimer()
				b.ReportMetric(float64(benchCatalogSize*b.N)/b.Elapsed().Seconds(), "items/s")
			})
		})
	}
}

// ingestBench is one configured Vitrine over its own database.
type ingestBench struct {
	a     *app
	st    *store.Store
	set   *extractors.Set
	space store.Space
	ix    *indexer.Indexer
}

// newIngestBench wires a database, ONNX Runtime, the encoders the fusion
// weights call for, the vector space and the indexer exactly as `vitrine
// ingest` does, from the effective configuration (so VITRINE_ORT_* and
// friends apply) with the test database and the module's models.
func newIngestBench(b *testing.B, imageWeight float64) *ingestBench {
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
	return &ingestBench{a: a, st: st, set: set, space: space, ix: a.indexer(st, set)}
}

// benchCatalog is products [from, from+n) of a synthetic catalog as JSON
// Lines; images are absolute paths, as ingest resolves them.
func benchCatalog(b *testing.B, o synth.Options, from, n int) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for i := from; i < from+n; i++ {
		if err := enc.Encode(synth.Gen(o.Seed, i, o)); err != nil {
			b.Fatal(err)
		}
	}
	return buf.Bytes()
}

// ingest runs one catalog through ingest.Run and insists every product was
// stored and indexed: a skipped or rejected product would flatter the rate.
func (h *ingestBench) ingest(b *testing.B, data []byte) {
	// Image paths are absolute, so the catalog needs no directory.
	rd, err := ingest.NewReader(bytes.NewReader(data), ingest.JSONL, "")
	if err != nil {
		b.Fatal(err)
	}
	var rejects bytes.Buffer
	sum, err := ingest.Run(b.Context(), rd, ingest.Options{Space: h.space, Writer: h.st, Indexer: h.ix,
		BatchSize: h.a.cfg.Ingest.BatchSize, Rejects: &rejects, Logger: h.a.log})
	if err != nil {
		b.Fatal(err)
	}
	if sum.Inserted != sum.Rows || sum.Indexed != sum.Rows || sum.Rejected != 0 || sum.Warnings != 0 {
		b.Fatalf("not every product was fresh and indexed: %+v\n%s", sum, rejects.String())
	}
}

// modelInputs reads a catalog as ingest would and collects what each
// encoder of the set gets for it: indexer.TextOf for text, the first
// image's bytes for image.
func (h *ingestBench) modelInputs(b *testing.B, data []byte) map[extractors.Encoder][][]byte {
	rd, err := ingest.NewReader(bytes.NewReader(data), ingest.JSONL, "")
	if err != nil {
		b.Fatal(err)
	}
	media := ingest.NewMediaLoader()
	out := map[extractors.Encoder][][]byte{}
	for {
		row, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range h.set.Encoders() {
			var in []byte
			switch e.Modality() {
			case models.Text:
				in = []byte(indexer.TextOf(row.Product))
			case models.Image:
				refs := row.Product.MediaOf(catalog.MediaImage)
				if len(refs) == 0 {
					b.Fatalf("product %s has no image", row.Product.ID)
				}
				if in, err = media.Load(b.Context(), refs[0].URI); err != nil {
					b.Fatal(err)
				}
			default:
				b.Fatalf("no benchmark input for %s (%s)", e.Key(), e.Modality())
			}
			out[e] = append(out[e], in)
		}
	}
	return out
}

// encode runs the first n inputs of every encoder through EncodeBatch in
// chunks of ingest's batch size (64 by default), as the indexer gets them.
func (h *ingestBench) encode(b *testing.B, inputs map[extractors.Encoder][][]byte, n int) {
	batch := h.a.cfg.Ingest.BatchSize
	for e, ins := range inputs {
		ins = ins[:min(n, len(ins))]
		for lo := 0; lo < len(ins); lo += batch {
			_, errs, err := e.EncodeBatch(b.Context(), ins[lo:min(lo+batch, len(ins))])
			if err != nil {
				b.Fatal(err)
			}
			for i, err := range errs {
				if err != nil {
					b.Fatalf("%s: input %d: %v", e.Key(), lo+i, err)
				}
			}
		}
	}
}
