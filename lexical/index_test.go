package lexical

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/lexical/analysis"
	"github.com/vitrinehq/vitrine/records"
)

func loadSmall(t testing.TB) *Index {
	t.Helper()
	a, err := analysis.New(analysis.English, analysis.Swedish)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := New(WithAnalyzer(a))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("testdata/small.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var p catalog.Product
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		ix.Put(p)
	}
	ix.Reweigh()
	return ix
}

func ids(hs []Hit) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.ProductID
	}
	return out
}

func ptr(f float64) *float64 { return &f }

func TestSearch(t *testing.T) {
	ix := loadSmall(t)
	cases := []struct {
		name  string
		q     string
		f     catalog.Filter
		first string   // the best hit
		want  []string // exactly these hits, in any order (nil: not checked)
		total int
		match Match
	}{
		{name: "all words beat a description mention", q: "organic bananas", first: "banana", want: []string{"banana", "soy"}, total: 2, match: MatchAll},
		{name: "title outranks description", q: "ginger", first: "ginger", want: []string{"ginger", "juice"}, total: 2, match: MatchAll},
		{name: "stemmed plural", q: "potato", first: "potato", total: 1, match: MatchAll},
		{name: "swedish stem", q: "mellanmjölken", first: "milk", total: 1, match: MatchAll},
		{name: "phrase in title first", q: "red apple", first: "redapple", want: []string{"redapple", "applered"}, total: 2, match: MatchAll},
		{name: "any word when none has all", q: "ginger bananas", want: []string{"banana", "soy", "ginger", "juice"}, total: 4, match: MatchAny},
		{name: "unknown word falls back to the others", q: "ginger zzz", want: []string{"ginger", "juice"}, total: 2, match: MatchAny},
		{name: "nothing", q: "zzz", total: 0, match: MatchAll},
		{name: "category prefix", q: "organic", f: catalog.Filter{Category: []string{"Dairy"}}, want: []string{"soy"}, total: 1, match: MatchAll},
		{name: "unknown category", q: "organic", f: catalog.Filter{Category: []string{"Toys"}}, total: 0, match: MatchAll},
		{name: "brand", q: "juice", f: catalog.Filter{Brands: []string{"Froosh"}}, want: []string{"juice", "applered"}, total: 2, match: MatchAll},
		{name: "price range drops unpriced", q: "juice", f: catalog.Filter{MinPrice: ptr(0)}, want: []string{"juice"}, total: 1, match: MatchAll},
		{name: "attributes", q: "organic", f: catalog.Filter{Attributes: map[string]any{"origin": "Ecuador"}}, want: []string{"banana"}, total: 1, match: MatchAll},
		{name: "attribute list containment", q: "potatoes", f: catalog.Filter{Attributes: map[string]any{"size": []any{"small"}}}, want: []string{"potato"}, total: 1, match: MatchAll},
		{name: "exclude", q: "ginger", f: catalog.Filter{Exclude: []string{"ginger"}}, want: []string{"juice"}, total: 1, match: MatchAll},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := ix.Search(Query{Text: c.q, K: 10, Filter: c.f, Facets: true})
			if err != nil {
				t.Fatal(err)
			}
			got := ids(res.Hits)
			if c.first != "" && (len(got) == 0 || got[0] != c.first) {
				t.Errorf("first of %q = %v, want %s", c.q, got, c.first)
			}
			if c.want != nil {
				w := slices.Sorted(slices.Values(c.want))
				if g := slices.Sorted(slices.Values(got)); !slices.Equal(g, w) {
					t.Errorf("hits of %q = %v, want %v", c.q, got, c.want)
				}
			}
			if res.Total != c.total || res.Match != c.match {
				t.Errorf("%q: total %d match %s, want %d %s", c.q, res.Total, res.Match, c.total, c.match)
			}
			if n := sum(res.Facets.Price); n != res.Total {
				t.Errorf("%q: price facets count %d products, total %d", c.q, n, res.Total)
			}
		})
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func TestFacetsCountMatches(t *testing.T) {
	ix := loadSmall(t)
	res, err := ix.Search(Query{Text: "juice", K: 1, Facets: true})
	if err != nil {
		t.Fatal(err)
	}
	want := records.Facets{Category: map[string]int{"Drinks": 2}, Brand: map[string]int{"Froosh": 2},
		Price: map[string]int{"25-50": 1, "unknown": 1}}
	if len(res.Hits) != 1 || res.Total != 2 || !equalFacets(res.Facets, want) {
		t.Errorf("juice: %d hits, total %d, facets %v; want 1, 2, %v", len(res.Hits), res.Total, res.Facets, want)
	}
}

func equalFacets(a, b records.Facets) bool {
	eq := func(x, y map[string]int) bool {
		if len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if y[k] != v {
				return false
			}
		}
		return true
	}
	return eq(a.Category, b.Category) && eq(a.Brand, b.Brand) && eq(a.Price, b.Price)
}

func TestPutReplacesAndDeleteRemoves(t *testing.T) {
	ix := loadSmall(t)
	ix.Put(catalog.Product{ID: "ginger", Title: "Turmeric", Category: []string{"Vegetables"}})
	res, _ := ix.Search(Query{Text: "ginger", K: 10})
	if slices.Contains(ids(res.Hits), "ginger") || res.Total != 1 {
		t.Errorf("after retitling, ginger finds %v (total %d)", ids(res.Hits), res.Total)
	}
	if res, _ := ix.Search(Query{Text: "turmeric", K: 10}); !slices.Equal(ids(res.Hits), []string{"ginger"}) {
		t.Errorf("turmeric finds %v", ids(res.Hits))
	}
	ix.Delete("ginger")
	ix.Delete("no-such-product")
	if res, _ := ix.Search(Query{Text: "turmeric", K: 10}); len(res.Hits) != 0 || ix.Len() != 8 {
		t.Errorf("deleted product still found: %v, len %d", ids(res.Hits), ix.Len())
	}
}

func TestSearchRefusesK(t *testing.T) {
	ix := loadSmall(t)
	for _, k := range []int{0, -1, records.MaxK + 1} {
		if _, err := ix.Search(Query{Text: "milk", K: k}); err == nil {
			t.Errorf("k=%d accepted", k)
		}
	}
	if _, err := New(WithBM25(0, 0.75)); err == nil {
		t.Error("k1=0 accepted")
	}
}

// synthetic builds a corpus of n products over a small vocabulary, so
// frequent words match a large share of it (as in the bench catalogs).
func synthetic(t testing.TB, n int, seed uint64, opts ...Option) *Index {
	t.Helper()
	ix, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		ix.Put(synthProduct(i, seed))
	}
	ix.Reweigh()
	return ix
}

var (
	synAdj   = strings.Fields("organic fresh classic crunchy sweet spicy smoked light premium rustic creamy wild golden red green dark mini family italian swedish")
	synNoun  = strings.Fields("apple banana milk yoghurt juice bread cheese coffee tea pasta rice tomato potato pepper onion carrot lemon orange mango avocado chocolate butter honey salmon chicken soup cereal cookie jam olive")
	synBrand = strings.Fields("Acme Nordic Verde Solaris Harbor Maple Orchard Alpine")
	synTop   = strings.Fields("Fruit Vegetables Dairy Bakery Pantry Drinks")
)

func synthProduct(i int, seed uint64) catalog.Product {
	r := rand.New(rand.NewPCG(seed, uint64(i)))
	pick := func(xs []string) string { return xs[r.IntN(len(xs))] }
	adj, noun, adj2 := pick(synAdj), pick(synNoun), pick(synAdj)
	price := float64(100+r.IntN(9900)) / 100
	return catalog.Product{ID: fmt.Sprintf("syn-%07d", i),
		Title:       adj + " " + noun + " " + pick(synNoun),
		Description: "A " + adj2 + " " + adj + " " + noun + ", good every day.",
		Brand:       pick(synBrand), Category: []string{pick(synTop), noun}, Price: &price}
}

// bruteForce scores every live product without pruning: the reference
// the pruned traversal must reproduce.
func bruteForce(ix *Index, q Query) []Hit {
	s := ix.newSearch(q)
	var all []hit
	for d := range ix.docs {
		id := uint32(d)
		if !ix.docs[d].live || !s.filter.ok(ix, id) {
			continue
		}
		m := 0
		for _, c := range s.curs {
			if _, ok := slices.BinarySearch(c.p.docs, id); ok {
				m++
			}
		}
		if m < len(s.words) {
			continue
		}
		sc := 0.0
		for _, c := range s.curs {
			i, _ := slices.BinarySearch(c.p.docs, id)
			sc += c.idf * float64(c.p.w[i])
		}
		all = append(all, hit{id, sc * s.titleBonus(id)})
	}
	slices.SortFunc(all, func(a, b hit) int {
		if a.better(b) {
			return -1
		}
		return 1
	})
	all = all[:min(len(all), q.K)]
	out := make([]Hit, len(all))
	for i, h := range all {
		out[i] = Hit{ProductID: ix.docs[h.doc].id, Score: h.score}
	}
	return out
}

func TestPrunedEqualsBruteForce(t *testing.T) {
	ix := synthetic(t, 20000, 7)
	for i := range 500 {
		ix.Delete(synthProduct(i*13, 7).ID) // holes in the postings
	}
	queries := []Query{
		{Text: "organic", K: 10}, {Text: "apple", K: 10}, {Text: "organic apple", K: 10},
		{Text: "red apple banana", K: 5}, {Text: "sweet", K: 100},
		{Text: "fresh milk", K: 10, Filter: catalog.Filter{Category: []string{"Dairy"}}},
		{Text: "smoked salmon", K: 20, Filter: catalog.Filter{Brands: []string{"Acme", "Nordic"}, MaxPrice: ptr(50)}},
	}
	for _, q := range queries {
		res, err := ix.Search(q)
		if err != nil {
			t.Fatal(err)
		}
		want := bruteForce(ix, q)
		if !slices.Equal(ids(res.Hits), ids(want)) {
			t.Errorf("%q: pruned %v\nbrute force %v", q.Text, ids(res.Hits), ids(want))
		}
		for i := range want {
			if math.Abs(res.Hits[i].Score-want[i].Score) > 1e-9 {
				t.Errorf("%q: score %d = %g, want %g", q.Text, i, res.Hits[i].Score, want[i].Score)
			}
		}
		if res.Scored > res.Total {
			t.Errorf("%q: scored %d of %d matches", q.Text, res.Scored, res.Total)
		}
	}
	res, _ := ix.Search(Query{Text: "organic", K: 10})
	if res.Scored*4 > res.Total {
		t.Errorf("organic: scored %d of %d matches; pruning should skip most", res.Scored, res.Total)
	}
}

func TestMatchAny(t *testing.T) {
	ix := loadSmall(t)
	ix.cfg.match = MatchAny
	cases := []struct {
		q     string
		first string
		total int
	}{
		{"ginger", "ginger", 2},          // one word: as all
		{"red apple", "redapple", 2},     // the title phrase first
		{"organic bananas", "banana", 2}, // all words before some
		{"ginger bananas", "", 4},        // any word
	}
	for _, c := range cases {
		res, err := ix.Search(Query{Text: c.q, K: 10})
		if err != nil {
			t.Fatal(err)
		}
		if res.Match != MatchAny || res.Total != c.total || len(res.Hits) == 0 {
			t.Fatalf("%q: match %s total %d hits %v; want any, %d", c.q, res.Match, res.Total, ids(res.Hits), c.total)
		}
		if c.first != "" && res.Hits[0].ProductID != c.first {
			t.Errorf("%q: first %s, want %s", c.q, res.Hits[0].ProductID, c.first)
		}
	}
	if _, err := New(WithMatch("some")); err == nil {
		t.Error("match mode some accepted")
	}
}

// TestTextAnalysis covers what a query word stands for beyond itself:
// typos (one edit from 5 letters, two from 9), the last word as a prefix,
// compounds that end in a word, and synonyms as declared.
func TestTextAnalysis(t *testing.T) {
	a, err := analysis.New(analysis.English, analysis.Swedish)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := New(WithAnalyzer(a), WithSynonyms("eggplant => aubergine", "courgette, zucchini", "# a comment", ""))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []catalog.Product{
		{ID: "banana", Title: "Banana"}, {ID: "avocado", Title: "Avocado Hass"},
		{ID: "mellan", Title: "Mellanmjölk 1.5%"}, {ID: "standard", Title: "Standardmjölk 3%"}, {ID: "fil", Title: "Filmjölk"},
		{ID: "aubergine", Title: "Aubergine"}, {ID: "zucchini", Title: "Zucchini"}, {ID: "eggplant", Title: "Eggplant"},
		{ID: "straw", Title: "Strawberries"}, {ID: "pom", Title: "Pomegranate"},
	} {
		ix.Put(p)
	}
	ix.Reweigh()
	cases := []struct {
		q    string
		want []string // as a set
	}{
		{"bannana", []string{"banana"}},
		{"avacado", []string{"avocado"}},
		{"bana", []string{"banana"}},      // prefix of the last word
		{"hass avo", []string{"avocado"}}, // ...
		{"mjölk", []string{"mellan", "standard", "fil"}},
		{"strawbery", []string{"straw"}}, // a typo of the stem
		{"pomegranite", []string{"pom"}}, // 11 letters: two edits allowed
		{"bnan", nil},                    // 4 letters: no typo allowed
		{"eggplant", []string{"eggplant", "aubergine"}},
		{"aubergine", []string{"aubergine"}}, // one-way
		{"courgette", []string{"zucchini"}},
		{"zucchini", []string{"zucchini"}}, // courgette is not in the catalog
	}
	for _, c := range cases {
		res, err := ix.Search(Query{Text: c.q, K: 10})
		if err != nil {
			t.Fatal(err)
		}
		got := ids(res.Hits)
		slices.Sort(got)
		want := slices.Clone(c.want)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%q finds %v, want %v", c.q, got, want)
		}
	}
	// The word as typed outranks its variants.
	if res, _ := ix.Search(Query{Text: "eggplant", K: 10}); res.Hits[0].ProductID != "eggplant" || !res.Hits[1].InTitle {
		t.Errorf("eggplant: %+v", res.Hits)
	}
	if _, err := New(WithSynonyms("a => ")); !errors.Is(err, ErrConfig) {
		t.Errorf("bad synonym rule: %v", err)
	}
}

// bruteForceAny is the any-word reference: every live product passing
// the filter that holds a query term, scored by its terms times the
// share of query words it holds and the title bonus, with the total and
// facets counted from the products themselves.
func bruteForceAny(ix *Index, q Query) ([]Hit, int, records.Facets) {
	s := ix.newSearch(q)
	facets := records.Facets{Category: map[string]int{}, Brand: map[string]int{}, Price: map[string]int{}}
	var all []hit
	total := 0
	for d := range ix.docs {
		id := uint32(d)
		doc := &ix.docs[d]
		if !doc.live || !s.filter.ok(ix, id) {
			continue
		}
		m, sc := 0, 0.0
		for _, c := range s.curs {
			if i, ok := slices.BinarySearch(c.p.docs, id); ok {
				m++
				sc += c.idf * float64(c.p.w[i])
			}
		}
		if m == 0 {
			continue
		}
		total++
		if len(doc.cats) > 0 && ix.catNames[doc.cats[0]] != "" {
			facets.Category[ix.catNames[doc.cats[0]]]++
		}
		if doc.brand >= 0 {
			facets.Brand[ix.brandNames[doc.brand]]++
		}
		facets.Price[priceBands[priceBand(doc.price)].name]++
		all = append(all, hit{id, sc * float64(m) / float64(len(s.words)) * s.titleBonus(id)})
	}
	slices.SortFunc(all, func(a, b hit) int {
		if a.better(b) {
			return -1
		}
		return 1
	})
	all = all[:min(len(all), q.K)]
	out := make([]Hit, len(all))
	for i, h := range all {
		out[i] = Hit{ProductID: ix.docs[h.doc].id, Score: h.score}
	}
	return out, total, facets
}

// TestPrunedAnyEqualsBruteForce checks the any-word traversal (MaxScore
// top k, total and facets from the union bitset) against scoring and
// counting every product: same hits in the same order, same scores, same
// total and facets, with deleted products, filters and word variants.
func TestPrunedAnyEqualsBruteForce(t *testing.T) {
	ix := synthetic(t, 20000, 11, WithMatch(MatchAny))
	for i := range 500 {
		ix.Delete(synthProduct(i*17, 11).ID) // holes in the postings
	}
	queries := []Query{
		{Text: "organic", K: 10}, {Text: "organic apple", K: 10}, {Text: "red apple juice", K: 10},
		{Text: "red apple banana", K: 5}, {Text: "sweet", K: 100}, {Text: "apple apple zzz", K: 10},
		{Text: "smoked salmon honey tea", K: 50}, {Text: "spicy choc", K: 10}, // a prefix
		{Text: "crunchy chiken", K: 10}, // a typo
		{Text: "fresh milk", K: 10, Filter: catalog.Filter{Category: []string{"Dairy"}}},
		{Text: "golden mango", K: 20, Filter: catalog.Filter{Brands: []string{"Acme", "Nordic"}, MaxPrice: ptr(50)}},
		{Text: "dark coffee", K: 10, Filter: catalog.Filter{MinPrice: ptr(20), Exclude: []string{"syn-0000001"}}},
		{Text: "wild rice", K: records.MaxK},
	}
	for _, q := range queries {
		q.Facets = true
		res, err := ix.Search(q)
		if err != nil {
			t.Fatal(err)
		}
		want, total, facets := bruteForceAny(ix, q)
		if !slices.Equal(ids(res.Hits), ids(want)) {
			t.Errorf("%q: pruned %v\nbrute force %v", q.Text, ids(res.Hits), ids(want))
		}
		for i := range min(len(want), len(res.Hits)) {
			if math.Abs(res.Hits[i].Score-want[i].Score) > 1e-9 {
				t.Errorf("%q: score %d = %g, want %g", q.Text, i, res.Hits[i].Score, want[i].Score)
			}
		}
		if res.Total != total || !equalFacets(res.Facets, facets) {
			t.Errorf("%q: total %d facets %v, want %d %v", q.Text, res.Total, res.Facets, total, facets)
		}
		if res.Match != MatchAny || res.Scored > res.Total {
			t.Errorf("%q: match %s, scored %d of %d", q.Text, res.Match, res.Scored, res.Total)
		}
	}
	res, _ := ix.Search(Query{Text: "red apple juice", K: 10})
	if res.Scored*4 > res.Total {
		t.Errorf("red apple juice: scored %d of %d matches; pruning should skip most", res.Scored, res.Total)
	}
}
