package store_test

import (
	"errors"
	"testing"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/records"
)

func TestImageViews(t *testing.T) {
	s, ctx := open(t)
	if _, err := s.UpsertProducts(ctx, []catalog.Product{product("p1", "Milk"), product("p2", "Juice")}); err != nil {
		t.Fatal(err)
	}
	const model = "img@1"
	if err := s.PutEmbeddings(ctx, []records.Embedding{
		{ProductID: "p1", Model: model, Modality: "image", InputHash: []byte{1}, Vector: []float32{1, 0}},
		{ProductID: "p2", Model: model, Modality: "image", InputHash: []byte{2}, Vector: []float32{0, 1}},
		{ProductID: "p1", Model: "other@1", Modality: "image", InputHash: []byte{3}, Vector: []float32{1, 1}},
	}); err != nil {
		t.Fatal(err)
	}
	v0, err := s.ImageViewsVersion(ctx, model)
	if err != nil {
		t.Fatal(err)
	}
	views := []records.ImageView{
		{ProductID: "p1", View: "a.jpg", Source: "reviews", Vector: []float32{0.9, 0.1}},
		{ProductID: "p1", View: "b.jpg", Source: "reviews", Vector: []float32{0.8, 0.2}},
		{ProductID: "p2", View: "c.jpg", Source: "shop", Vector: []float32{0.1, 0.9}},
	}
	if err := s.PutImageViews(ctx, model, views); err != nil {
		t.Fatal(err)
	}
	// Writing the same view again replaces it.
	if err := s.PutImageViews(ctx, model, views[:1]); err != nil {
		t.Fatal(err)
	}
	got, err := s.ImageViews(ctx, model)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, v := range got {
		count[v.ProductID+"/"+v.Source]++
	}
	want := map[string]int{"p1/catalog": 1, "p2/catalog": 1, "p1/reviews": 2, "p2/shop": 1}
	if len(got) != 5 || len(count) != len(want) {
		t.Fatalf("views = %v, want %v", count, want)
	}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("%s: %d views, want %d", k, count[k], n)
		}
	}
	v1, err := s.ImageViewsVersion(ctx, model)
	if err != nil || v1 == v0 {
		t.Fatalf("version %q after writing views, was %q (err %v)", v1, v0, err)
	}

	tests := []struct {
		name   string
		source string
		want   int64
	}{{"a source's views go together", "reviews", 2}, {"an unknown source removes none", "nobody", 0}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := s.DeleteImageViews(ctx, model, tc.source)
			if err != nil || n != tc.want {
				t.Fatalf("DeleteImageViews(%s) = %d, %v; want %d", tc.source, n, err, tc.want)
			}
		})
	}
	// A deleted product's views are no longer served, and the version moves.
	if err := s.DeleteProduct(ctx, "p2"); err != nil {
		t.Fatal(err)
	}
	got, err = s.ImageViews(ctx, model)
	if err != nil || len(got) != 1 || got[0].ProductID != "p1" || got[0].View != records.ViewCatalog {
		t.Fatalf("after deleting p2: %v, %v; want p1's catalog view only", got, err)
	}
	if v2, _ := s.ImageViewsVersion(ctx, model); v2 == v1 {
		t.Error("version unchanged by a product deletion")
	}
	err = s.PutImageViews(ctx, model, []records.ImageView{{ProductID: "nope", View: "x", Vector: []float32{1, 0}}})
	var unknown *records.UnknownProductError
	if !errors.As(err, &unknown) || len(unknown.IDs) != 1 || unknown.IDs[0] != "nope" {
		t.Errorf("view of an unknown product: %v, want an UnknownProductError naming it", err)
	}
}
