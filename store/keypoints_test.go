package store_test

import (
	"slices"
	"testing"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/records"
)

// TestImageKeypoints: keypoints are stored per product and view, replaced
// on rewrite, listed catalog-only or with views, reported missing for
// products without a catalog image's, change the views' version, and go
// with their source's views.
func TestImageKeypoints(t *testing.T) {
	s, ctx := open(t)
	if _, err := s.UpsertProducts(ctx, []catalog.Product{product("p1", "Milk"), product("p2", "Juice"), product("p3", "Oats")}); err != nil {
		t.Fatal(err)
	}
	const model = "img@1"
	v0, err := s.ImageViewsVersion(ctx, model)
	if err != nil {
		t.Fatal(err)
	}
	ks := []records.ImageKeypoints{
		{ProductID: "p1", View: records.ViewCatalog, Source: records.ViewCatalog, Data: []byte{1}},
		{ProductID: "p2", View: records.ViewCatalog, Source: records.ViewCatalog, Data: []byte{2}},
		{ProductID: "p1", View: "a.jpg", Source: "reviews", Data: []byte{3}},
	}
	if err := s.PutImageKeypoints(ctx, ks); err != nil {
		t.Fatal(err)
	}
	ks[0].Data = []byte{4}
	if err := s.PutImageKeypoints(ctx, ks[:1]); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		views bool
		want  []string
	}{
		{false, []string{"p1/catalog/4", "p2/catalog/2"}},
		{true, []string{"p1/a.jpg/3", "p1/catalog/4", "p2/catalog/2"}},
	}
	for _, tc := range tests {
		got, err := s.ImageKeypoints(ctx, tc.views)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, k := range got {
			keys = append(keys, k.ProductID+"/"+k.View+"/"+string(rune('0'+k.Data[0])))
		}
		slices.Sort(keys)
		if !slices.Equal(keys, tc.want) {
			t.Errorf("views %v: %v, want %v", tc.views, keys, tc.want)
		}
	}
	missing, err := s.WithoutCatalogKeypoints(ctx, []string{"p1", "p2", "p3"})
	if err != nil || !slices.Equal(missing, []string{"p3"}) {
		t.Errorf("without keypoints: %v (%v), want [p3]", missing, err)
	}
	v1, err := s.ImageViewsVersion(ctx, model)
	if err != nil || v1 == v0 {
		t.Errorf("version %q after writing keypoints, was %q (err %v)", v1, v0, err)
	}
	if _, err := s.DeleteImageViews(ctx, model, "reviews"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ImageKeypoints(ctx, true); err != nil || len(got) != 2 {
		t.Errorf("after removing the reviews' views: %d keypoints (%v), want the 2 catalog images'", len(got), err)
	}
	if err := s.PutImageKeypoints(ctx, []records.ImageKeypoints{{ProductID: "nope", View: records.ViewCatalog, Data: []byte{1}}}); err == nil {
		t.Error("keypoints of an unknown product were stored")
	}
}
