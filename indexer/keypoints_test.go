package indexer_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vitrinehq/vitrine/extractors/keypoints"
	"github.com/vitrinehq/vitrine/indexer"
	"github.com/vitrinehq/vitrine/ingest"
	"github.com/vitrinehq/vitrine/records"
)

// TestIndexStoresCatalogKeypoints: the demo grocery catalog indexed with
// the real models and keypoints off has none; re-indexed with them on
// (a catalog indexed before verification was switched on), every
// product's catalog image's keypoints are extracted though its vectors
// are up to date, and a product whose keypoints went missing gets them
// again.
func TestIndexStoresCatalogKeypoints(t *testing.T) {
	g := newGrocery(t)
	ctx := t.Context()
	if missing, err := g.st.WithoutCatalogKeypoints(ctx, g.ids); err != nil || len(missing) != len(g.ids) {
		t.Fatalf("%d of %d products without keypoints with them off (%v)", len(missing), len(g.ids), err)
	}
	space, err := g.st.ActiveSpace(ctx)
	if err != nil {
		t.Fatal(err)
	}
	all, err := g.st.ProductsAfter(ctx, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	ix := indexer.New(g.st, ingest.NewMediaLoader(), []indexer.Encoder{g.text, g.image}, indexer.WithKeypoints(true))
	if _, _, err := ix.Index(ctx, space, all); err != nil {
		t.Fatal(err)
	}
	ks, err := g.st.ImageKeypoints(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(ks) != len(g.ids) {
		t.Fatalf("%d products' keypoints after ingest, want %d", len(ks), len(g.ids))
	}
	total := 0
	for _, k := range ks {
		f, err := keypoints.Unmarshal(k.Data)
		if err != nil || f.Len() == 0 || k.View != records.ViewCatalog {
			t.Fatalf("%s: view %q, %d keypoints (%v)", k.ProductID, k.View, f.Len(), err)
		}
		total += f.Len()
	}
	// Packshots are textured: a plain bulb of garlic has a handful of
	// keypoints, a printed carton a few hundred.
	if total < 50*len(ks) {
		t.Errorf("%d keypoints over %d packshots, want 50 or more each on average", total, len(ks))
	}
	// The first product's embeddings and vector go too, so the pass encodes
	// its image and takes the keypoints from the bytes it loaded for that.
	id := g.ids[0]
	if _, err := g.db.Exec(ctx, `DELETE FROM image_keypoints WHERE product_id = $1`, id); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"embeddings", "product_vectors"} {
		if _, err := g.db.Exec(ctx, `DELETE FROM `+table+` WHERE product_id = $1`, id); err != nil {
			t.Fatal(err)
		}
	}
	ps, err := g.st.ProductsAfter(ctx, "", 1)
	if err != nil || len(ps) != 1 || ps[0].ID != id {
		t.Fatalf("first product %v (%v), want %s", ps, err, id)
	}
	_, stats, err := ix.Index(ctx, space, ps)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Encoded[g.image.Key()] != 1 {
		t.Errorf("image embeddings encoded on re-indexing: %v, want 1", stats.Encoded)
	}
	if missing, err := g.st.WithoutCatalogKeypoints(ctx, g.ids); err != nil || len(missing) != 0 {
		t.Errorf("products without keypoints after re-indexing: %v (%v)", missing, err)
	}
}

// TestBackfillFillsMissingKeypoints: `vitrine backfill` of a catalog
// ingested before verification was on finds its space up to date and
// still extracts every catalog image's keypoints, then has nothing left
// to extract.
func TestBackfillFillsMissingKeypoints(t *testing.T) {
	g := newGrocery(t)
	ctx := t.Context()
	ix := indexer.New(g.st, ingest.NewMediaLoader(), []indexer.Encoder{g.text, g.image}, indexer.WithKeypoints(true))
	rep, err := indexer.Backfill(ctx, g.st, ix, g.spec, indexer.BackfillOptions{BatchSize: 32})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Finished || rep.Keypoints != len(g.ids) {
		t.Fatalf("backfill of the unchanged space: finished %v, %d keypoints extracted, want false and %d", rep.Finished, rep.Keypoints, len(g.ids))
	}
	var out strings.Builder
	if err := rep.Text(&out, false); err != nil || !strings.Contains(out.String(), fmt.Sprintf("keypoints of %d catalog images extracted", len(g.ids))) {
		t.Errorf("report %q (%v) does not count the keypoints", out.String(), err)
	}
	if missing, err := g.st.WithoutCatalogKeypoints(ctx, g.ids); err != nil || len(missing) != 0 {
		t.Fatalf("products without keypoints after the backfill: %v (%v)", missing, err)
	}
	again, err := indexer.Backfill(ctx, g.st, ix, g.spec, indexer.BackfillOptions{BatchSize: 32})
	if err != nil || again.Keypoints != 0 {
		t.Errorf("second backfill extracted %d keypoints (%v), want 0", again.Keypoints, err)
	}
}
