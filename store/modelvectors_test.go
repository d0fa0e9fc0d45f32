package store_test

import (
	"slices"
	"testing"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/records"
)

// TestModelVectors: one model's embeddings of the products asked for, and
// only of those that have one.
func TestModelVectors(t *testing.T) {
	s, ctx := open(t)
	if _, err := s.UpsertProducts(ctx, []catalog.Product{product("p1", "Milk"), product("p2", "Juice"), product("p3", "Bread")}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutEmbeddings(ctx, []records.Embedding{
		{ProductID: "p1", Model: "txt@1", Modality: "text", InputHash: []byte{1}, Vector: []float32{1, 0}},
		{ProductID: "p2", Model: "txt@1", Modality: "text", InputHash: []byte{2}, Vector: []float32{0, 1}},
		{ProductID: "p1", Model: "img@1", Modality: "image", InputHash: []byte{3}, Vector: []float32{0.5, 0.5, 0}},
		{ProductID: "p3", Model: "img@1", Modality: "image", InputHash: []byte{4}, Vector: []float32{1, 1, 1}},
	}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ModelVectors(ctx, "txt@1", []string{"p1", "p3", "nope"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !slices.Equal(got["p1"], []float32{1, 0}) {
		t.Errorf("model vectors %v, want p1's text vector only", got)
	}
}
