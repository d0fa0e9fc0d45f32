// Package synth generates deterministic synthetic catalogs for tests and
// benchmarks: plausible product titles from word lists, categories, brands,
// prices, and optionally images taken from a directory.
package synth

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
)

var (
	adjectives = []string{"organic", "fresh", "classic", "crunchy", "sweet", "spicy", "smoked", "light", "premium", "rustic", "creamy", "wild", "golden", "red", "green", "dark", "mini", "family", "italian", "swedish"}
	nouns      = []string{"apple", "banana", "milk", "yoghurt", "juice", "bread", "cheese", "coffee", "tea", "pasta", "rice", "tomato", "potato", "pepper", "onion", "carrot", "lemon", "orange", "mango", "avocado", "chocolate", "butter", "honey", "salmon", "chicken", "soup", "cereal", "cookie", "jam", "olive"}
	forms      = []string{"pack", "bottle", "jar", "box", "bag", "can", "tray", "bunch"}
	brands     = []string{"Acme", "Nordic", "Verde", "Solaris", "Harbor", "Maple", "Orchard", "Alpine"}
	tops       = []string{"Fruit", "Vegetables", "Dairy", "Bakery", "Pantry", "Drinks"}
)

// Product is one synthetic catalog row (the ingest JSON Lines schema).
type Product struct {
	ID          string         `json:"id"`
	Title       string         `json:"title"`
	Description string         `json:"description"`
	Brand       string         `json:"brand"`
	Category    []string       `json:"category"`
	Price       float64        `json:"price"`
	Currency    string         `json:"currency"`
	Attributes  map[string]any `json:"attributes,omitempty"`
	Images      []string       `json:"images,omitempty"`
}

// Options shape a catalog.
type Options struct {
	N    int
	Seed uint64
	// Images, when set, are assigned to every ImageEvery-th product.
	Images     []string
	ImageEvery int
}

// Gen returns product i of a catalog; the same (seed, i) always gives the
// same product, so a benchmark can stream a million without storing them.
func Gen(seed uint64, i int, o Options) Product {
	r := rand.New(rand.NewPCG(seed, uint64(i)))
	adj, noun, form := adjectives[r.IntN(len(adjectives))], nouns[r.IntN(len(nouns))], forms[r.IntN(len(forms))]
	adj2 := adjectives[r.IntN(len(adjectives))]
	top := tops[r.IntN(len(tops))]
	p := Product{
		ID:          fmt.Sprintf("syn-%07d", i),
		Title:       fmt.Sprintf("%s %s %s", strings.ToUpper(adj[:1])+adj[1:], noun, form),
		Description: fmt.Sprintf("A %s %s %s, %s and good for every day.", adj2, adj, noun, form),
		Brand:       brands[r.IntN(len(brands))],
		Category:    []string{top, strings.ToUpper(noun[:1]) + noun[1:]},
		Price:       float64(100+r.IntN(9900)) / 100,
		Currency:    "EUR",
		Attributes:  map[string]any{"organic": adj == "organic" || adj2 == "organic"},
	}
	if len(o.Images) > 0 && o.ImageEvery > 0 && i%o.ImageEvery == 0 {
		p.Images = []string{o.Images[(i/o.ImageEvery)%len(o.Images)]}
	}
	return p
}

// WriteJSONL writes o.N products as JSON Lines.
func WriteJSONL(w io.Writer, o Options) error {
	enc := json.NewEncoder(w)
	for i := range o.N {
		if err := enc.Encode(Gen(o.Seed, i, o)); err != nil {
			return err
		}
	}
	return nil
}
