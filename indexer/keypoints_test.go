package indexer_test

import (
	"testing"

	"github.com/vitrinehq/vitrine/extractors/keypoints"
	"github.com/vitrinehq/vitrine/records"
)

// TestIndexStoresCatalogKeypoints: indexing the demo grocery catalog with
// the real models stores the keypoints of each product's catalog image,
// and indexing a product whose keypoints are missing (a catalog indexed
// before they existed) extracts them again though its vectors are up to
// date.
func TestIndexStoresCatalogKeypoints(t *testing.T) {
	g := newGrocery(t)
	ctx := t.Context()
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
	id := g.ids[0]
	if _, err := g.db.Exec(ctx, `DELETE FROM image_keypoints WHERE product_id = $1`, id); err != nil {
		t.Fatal(err)
	}
	ps, err := g.st.ProductsAfter(ctx, "", 1)
	if err != nil || len(ps) != 1 || ps[0].ID != id {
		t.Fatalf("first product %v (%v), want %s", ps, err, id)
	}
	space, err := g.st.ActiveSpace(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := g.ix.Index(ctx, space, ps); err != nil {
		t.Fatal(err)
	}
	if missing, err := g.st.WithoutCatalogKeypoints(ctx, g.ids); err != nil || len(missing) != 0 {
		t.Errorf("products without keypoints after re-indexing: %v (%v)", missing, err)
	}
}
