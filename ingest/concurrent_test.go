package ingest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"

	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/fusion"
	"github.com/vitrinehq/vitrine/indexer"
	"github.com/vitrinehq/vitrine/ingest"
	"github.com/vitrinehq/vitrine/internal/testdb"
	"github.com/vitrinehq/vitrine/internal/testenv"
	"github.com/vitrinehq/vitrine/internal/testlog"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/store"
)

// clashingCatalog is n products in batches of size. Any two neighbouring
// batches (which may be in flight together) introduce the same new
// category names, in opposite orders: batch j names categories of sets j
// (in ascending order) and j+1 (descending).
func clashingCatalog(t *testing.T, n, size int) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for i := range n {
		batch, k := i/size, i%size
		row := map[string]any{
			"id":       fmt.Sprintf("p%05d", i),
			"title":    fmt.Sprintf("apple juice %d", i),
			"brand":    fmt.Sprintf("orchard %d", batch),
			"category": []string{fmt.Sprintf("juice %d-%d", batch, k), fmt.Sprintf("juice %d-%d", batch+1, size-1-k)},
		}
		if err := enc.Encode(row); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

// TestRunConcurrentBatchesIntoPostgreSQL ingests, at the default depth of
// two batches in flight, a catalog whose neighbouring batches meet the
// same new suggestion terms in opposite orders, into the real store
// with the real text model. Two such batches used to deadlock on the
// suggestion terms' unique index (PostgreSQL ended one upsert, rejecting a
// row). Every product must land, and no transaction may have been ended by
// a transient error (the store logs each retry at warn).
func TestRunConcurrentBatchesIntoPostgreSQL(t *testing.T) {
	const products, batch = 640, 16
	ctx := t.Context()
	warns := &testlog.WarnCounter{}
	st, err := store.Open(ctx, testdb.URL(t), store.WithLogger(slog.New(warns)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	set, err := extractors.LoadSet(ctx, testenv.Runtime(t), testenv.Manifests(t), testenv.ModelDir(t),
		[]string{testenv.Manifest(t, "glove-100d").Name}, extractors.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { set.Close() })
	text, _ := set.ByModality("text")
	spec := fusion.Spec{Strategy: fusion.WeightedConcat, Components: []fusion.Component{
		{Model: text.Key(), Modality: "text", Dim: text.Dim(), Weight: 1},
	}}
	sp, err := st.CreateSpace(ctx, records.NewSpace{Spec: spec.JSON(), Dim: spec.Dim()})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.ActivateSpace(ctx, sp.Version); err != nil {
		t.Fatal(err)
	}
	if err := st.EnsureModelIndex(ctx, text.Key(), text.Dim()); err != nil {
		t.Fatal(err)
	}
	rd, err := ingest.NewReader(bytes.NewReader(clashingCatalog(t, products, batch)), ingest.JSONL, "")
	if err != nil {
		t.Fatal(err)
	}
	var rejects bytes.Buffer
	sum, err := ingest.Run(ctx, rd, ingest.Options{Space: sp, Writer: st, BatchSize: batch, Rejects: &rejects,
		Indexer: indexer.New(st, ingest.NewMediaLoader(), []indexer.Encoder{text})})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Inserted != products || sum.Indexed != products || sum.Rejected != 0 {
		t.Errorf("summary %+v, rejects:\n%s", sum, rejects.String())
	}
	if n := warns.Count(); n != 0 {
		t.Errorf("%d store transactions were ended by a transient error (deadlock) and run again", n)
	}
	if n, err := st.CountProducts(ctx); err != nil || n != products {
		t.Errorf("%d products stored (%v), want %d", n, err, products)
	}
}
