// Package apitest builds what API tests need: the demo grocery catalog in a
// fresh database, encoded by the real models, ready for servers of any
// configuration.
package apitest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/fusion"
	"github.com/vitrinehq/vitrine/indexer"
	"github.com/vitrinehq/vitrine/ingest"
	"github.com/vitrinehq/vitrine/internal/testdb"
	"github.com/vitrinehq/vitrine/internal/testenv"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/store"
)

// Env is the ingested demo catalog and the parts that serve it.
type Env struct {
	Store    *store.Store
	Encoders *extractors.Set
	Indexer  *indexer.Indexer
	Media    *ingest.MediaLoader
	Space    records.Space
	Root     string // module root
	// DB is a pool of its own on the test database, for assertions in raw
	// SQL (what rows still name an erased user, ...).
	DB *pgxpool.Pool
}

// New ingests demo/grocery/catalog.jsonl (text and image, weights 0.5/0.5)
// into a fresh database and builds the per-model indexes search uses.
func New(t testing.TB) *Env {
	t.Helper()
	ctx := t.Context()
	dbURL := testdb.URL(t)
	st, err := store.Open(ctx, dbURL)
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
	text, _ := set.ByModality("text")
	img, _ := set.ByModality("image")
	spec := fusion.Spec{Strategy: fusion.WeightedConcat, Components: []fusion.Component{
		{Model: text.Key(), Modality: "text", Dim: text.Dim(), Weight: 0.5},
		{Model: img.Key(), Modality: "image", Dim: img.Dim(), Weight: 0.5},
	}}
	sp, err := st.CreateSpace(ctx, records.NewSpace{Spec: spec.JSON(), Dim: spec.Dim()})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.ActivateSpace(ctx, sp.Version); err != nil {
		t.Fatal(err)
	}
	media := ingest.NewMediaLoader()
	ix := indexer.New(st, media, []indexer.Encoder{text, img})
	root := testenv.Root(t)
	f, err := os.Open(filepath.Join(root, "demo", "grocery", "catalog.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd, err := ingest.NewReader(f, ingest.JSONL, filepath.Join(root, "demo", "grocery"))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := ingest.Run(ctx, rd, ingest.Options{Space: sp, Writer: st, Indexer: ix})
	if err != nil || sum.Indexed != 81 {
		t.Fatalf("ingest demo catalog: %+v %v", sum, err)
	}
	for _, e := range []extractors.Encoder{text, img} {
		if err := st.EnsureModelIndex(ctx, e.Key(), e.Dim()); err != nil {
			t.Fatal(err)
		}
	}
	return &Env{Store: st, Encoders: set, Indexer: ix, Media: media, Space: sp, Root: root, DB: testdb.Pool(t, dbURL)}
}
