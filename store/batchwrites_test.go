package store_test

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/records"
)

// TestPutProductVectorsBatch: a batch is one statement; a product given
// twice keeps its last vector (as writes one after another did), rows
// written before are replaced, both storages take it, and an unknown
// product fails the whole batch naming it.
func TestPutProductVectorsBatch(t *testing.T) {
	for _, storage := range []records.Storage{records.StorageVector, records.StorageHalfvec} {
		t.Run(string(storage), func(t *testing.T) {
			s, ctx := open(t)
			if _, err := s.UpsertProducts(ctx, []catalog.Product{product("p1", "Milk"), product("p2", "Juice"), product("p3", "Bread")}); err != nil {
				t.Fatal(err)
			}
			sp, err := s.CreateSpace(ctx, records.NewSpace{Name: "batch", Dim: 2, Storage: storage})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.PutProductVectors(ctx, sp.Version, []records.ProductVector{{ProductID: "p3", Vector: []float32{1, 0}, SourceHash: []byte{9}}}); err != nil {
				t.Fatal(err)
			}
			err = s.PutProductVectors(ctx, sp.Version, []records.ProductVector{
				{ProductID: "p2", Vector: []float32{1, 0}, SourceHash: []byte{1}},
				{ProductID: "p1", Vector: []float32{0, 1}, SourceHash: []byte{2}},
				{ProductID: "p2", Vector: []float32{0.5, 0.5}, SourceHash: []byte{3}},
				{ProductID: "p3", Vector: []float32{0, 1}, SourceHash: []byte{4}},
			})
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.ProductVectors(ctx, sp.Version, []string{"p1", "p2", "p3"})
			if err != nil {
				t.Fatal(err)
			}
			want := map[string][]float32{"p1": {0, 1}, "p2": {0.5, 0.5}, "p3": {0, 1}}
			for id, v := range want {
				if !slices.Equal(got[id], v) {
					t.Errorf("%s: vector %v, want %v", id, got[id], v)
				}
			}
			hashes, err := s.VectorSourceHashes(ctx, sp.Version, []string{"p1", "p2", "p3"})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(hashes["p1"], []byte{2}) || !bytes.Equal(hashes["p2"], []byte{3}) || !bytes.Equal(hashes["p3"], []byte{4}) {
				t.Errorf("source hashes %v, want p1 2, p2 3 (the last), p3 4", hashes)
			}
			err = s.PutProductVectors(ctx, sp.Version, []records.ProductVector{{ProductID: "p1", Vector: []float32{1, 0}}, {ProductID: "nope", Vector: []float32{1, 0}}})
			var unknown *records.UnknownProductError
			if !errors.As(err, &unknown) || !slices.Equal(unknown.IDs, []string{"nope"}) {
				t.Fatalf("unknown product: error %v, want UnknownProductError naming nope", err)
			}
		})
	}
}

// TestPutEmbeddingsBatch: a (product, model) pair given twice in a batch
// keeps its last embedding, and an embedding stored before is replaced.
func TestPutEmbeddingsBatch(t *testing.T) {
	s, ctx := open(t)
	if _, err := s.UpsertProducts(ctx, []catalog.Product{product("p1", "Milk"), product("p2", "Juice")}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutEmbeddings(ctx, []records.Embedding{{ProductID: "p2", Model: "txt@1", Modality: "text", InputHash: []byte{0}, Vector: []float32{9, 9}}}); err != nil {
		t.Fatal(err)
	}
	err := s.PutEmbeddings(ctx, []records.Embedding{
		{ProductID: "p1", Model: "txt@1", Modality: "text", InputHash: []byte{1}, Vector: []float32{1, 0}},
		{ProductID: "p1", Model: "img@1", Modality: "image", InputHash: []byte{2}, Vector: []float32{0, 1, 0}},
		{ProductID: "p2", Model: "txt@1", Modality: "text", InputHash: []byte{3}, Vector: []float32{0, 1}},
		{ProductID: "p1", Model: "txt@1", Modality: "text", InputHash: []byte{4}, Vector: []float32{0.6, 0.8}},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Embeddings(ctx, []string{"p1", "p2"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		id, model string
		hash      []byte
		vec       []float32
	}{
		{"p1", "txt@1", []byte{4}, []float32{0.6, 0.8}},
		{"p1", "img@1", []byte{2}, []float32{0, 1, 0}},
		{"p2", "txt@1", []byte{3}, []float32{0, 1}},
	}
	for _, c := range cases {
		e := got[c.id][c.model]
		if !bytes.Equal(e.InputHash, c.hash) || !slices.Equal(e.Vector, c.vec) {
			t.Errorf("%s %s: hash %v vector %v, want %v %v", c.id, c.model, e.InputHash, e.Vector, c.hash, c.vec)
		}
	}
}

// TestUpsertProductsBatchRoundTrip: every column goes through the batch
// statement as it is read back (categories, attributes, media, no price,
// no currency), and an id given twice in one call lands once, the last row
// winning, as one row after another would.
func TestUpsertProductsBatchRoundTrip(t *testing.T) {
	s, ctx := open(t)
	full := product("full", "Oat drink")
	full.Brand, full.Description = "Oatly", "Barista edition"
	full.Category = []string{"Drinks", "Plant milk"}
	full.Attributes = map[string]any{"size": "1 l", "organic": true}
	full.Media = []catalog.Media{{Kind: catalog.MediaImage, URI: "https://example.com/oat.jpg"}}
	bare := product("bare", "Plain")
	bare.Price, bare.Currency = nil, ""
	first, last := product("twice", "First"), product("twice", "Last")
	res, err := s.UpsertProducts(ctx, []catalog.Product{full, first, bare, last})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Status != records.Inserted && r.Status != records.Updated {
			t.Errorf("%s: %v, want stored", r.ID, r.Status)
		}
	}
	cases := []struct {
		id   string
		want catalog.Product
	}{{"full", full}, {"bare", bare}, {"twice", last}}
	for _, c := range cases {
		got, err := s.GetProduct(ctx, c.id)
		if err != nil {
			t.Fatal(err)
		}
		if got.ContentHash() == nil || !bytes.Equal(got.ContentHash(), c.want.ContentHash()) {
			t.Errorf("%s: stored %+v, want %+v", c.id, got, c.want)
		}
	}
}
