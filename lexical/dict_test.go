package lexical

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vitrinehq/vitrine/catalog"
)

// syllables make pseudo-words with the neighbour density of a shop's
// vocabulary: many terms one or two edits apart.
var syllables = strings.Fields("ba be bi bo ka ke ki ko la le li lo ma me mi mo na ne ni no pa pe pi po ra re ri ro sa se si so ta te ti to va ve vi ja jo ö å ä str nd ck sk")

// vocabulary returns n distinct pseudo-words of 2 to 6 syllables.
func vocabulary(n int, seed uint64) []string {
	r := rand.New(rand.NewPCG(seed, 7))
	seen := make(map[string]bool, n)
	out := make([]string, 0, n)
	for len(out) < n {
		var b strings.Builder
		for range 2 + r.IntN(5) {
			b.WriteString(syllables[r.IntN(len(syllables))])
		}
		if w := b.String(); !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

// vocabularyOf is the vocabulary size of a catalog of n products by
// Heaps' law (V = 44 * sqrt(tokens), the constants of English text) at 50
// tokens a product: 31,000 terms at 10,000 products, 98,000 at 100,000,
// 311,000 at 1,000,000.
func vocabularyOf(products int) int { return int(44 * math.Sqrt(50*float64(products))) }

// typoOf returns w with one random edit (a substitution, deletion,
// insertion or adjacent swap) and, when two, a second one.
func typoOf(w string, edits int, r *rand.Rand) string {
	rs := []rune(w)
	for range edits {
		i := r.IntN(len(rs))
		switch r.IntN(4) {
		case 0:
			rs[i] = 'a' + rune(r.IntN(26))
		case 1:
			if len(rs) > 2 {
				rs = slices.Delete(rs, i, i+1)
			}
		case 2:
			rs = slices.Insert(rs, i, 'a'+rune(r.IntN(26)))
		default:
			if i+1 < len(rs) {
				rs[i], rs[i+1] = rs[i+1], rs[i]
			}
		}
	}
	return string(rs)
}

// scanWithin is the reference the FST replaced: every term of a sorted
// list within the length budget compared by edit distance.
func scanWithin(sorted []string, q string, budget int) ([]string, int) {
	qr := []rune(q)
	best := budget + 1
	var found []string
	for _, t := range sorted {
		if abs(utf8.RuneCountInString(t)-len(qr)) > budget {
			continue
		}
		switch d := editDistance(qr, []rune(t), budget+1); {
		case d > budget:
		case d < best:
			best, found = d, []string{t}
		case d == best:
			found = append(found, t)
		}
	}
	return found, best
}

// scanPrefixed is the reference prefix lookup: a binary search of the
// sorted list, then a walk.
func scanPrefixed(sorted []string, p string, extra int) []string {
	return prefixed(nil, sorted, p, extra)
}

// dictOf builds a dictionary of terms (every one live) with the FSTs
// built over the first `built` of them and the rest in the tail.
func dictOf(t testing.TB, terms []string, built int) *dictionary {
	t.Helper()
	m := make(map[string]uint32, len(terms))
	post := make([]*posting, len(terms))
	for i, w := range terms[:built] {
		m[w] = uint32(i)
		post[i] = &posting{live: 1}
	}
	d := &dictionary{}
	if err := d.build(m, post); err != nil {
		t.Fatal(err)
	}
	for _, w := range terms[built:] {
		d.added(w)
	}
	slices.Sort(d.tail)
	slices.Sort(d.tailRev)
	d.sorted = true
	return d
}

func TestDictionaryEqualsScan(t *testing.T) {
	terms := vocabulary(20_000, 1)
	sorted := slices.Sorted(slices.Values(terms))
	r := rand.New(rand.NewPCG(2, 2))
	for _, tc := range []struct {
		name  string
		built int
	}{{"all in the FST", len(terms)}, {"FST and tail", len(terms) - 3000}, {"tail only", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			d := dictOf(t, terms, tc.built)
			for i := range 400 {
				w := terms[r.IntN(len(terms))]
				budget := 1 + i%2
				q := typoOf(w, budget, r)
				got, gotD := d.within(q, budget)
				want, wantD := scanWithin(sorted, q, budget)
				slices.Sort(got)
				if gotD != wantD || !slices.Equal(got, want) {
					t.Fatalf("within(%q, %d) = %v at %d, scan %v at %d", q, budget, got, gotD, want, wantD)
				}
				p := string([]rune(w)[:min(3+i%3, utf8.RuneCountInString(w))])
				gotP := prefixed(d.fwd, d.tail, p, 1)
				slices.Sort(gotP)
				if wantP := scanPrefixed(sorted, p, 1); !slices.Equal(gotP, wantP) {
					t.Fatalf("prefixed(%q) = %v, scan %v", p, gotP, wantP)
				}
			}
		})
	}
}

// TestDictionaryFollowsWrites: terms written after the dictionary was
// built are found (from the tail), a term no live product holds is left
// out of the next build, and found again once a product holds it.
func TestDictionaryFollowsWrites(t *testing.T) {
	ix, err := New()
	if err != nil {
		t.Fatal(err)
	}
	ix.Put(catalog.Product{ID: "p1", Title: "Yoghurt natural"})
	ix.Reweigh()
	ix.Put(catalog.Product{ID: "p2", Title: "Avocado ripe"})
	for _, tc := range []struct{ q, want string }{{"yoghrt", "p1"}, {"avacado", "p2"}, {"avoc", "p2"}} {
		res, err := ix.Search(Query{Text: tc.q, K: 5})
		if err != nil || len(res.Hits) == 0 || res.Hits[0].ProductID != tc.want {
			t.Fatalf("%q: %+v %v, want %s first", tc.q, res.Hits, err, tc.want)
		}
	}
	ix.Delete("p2")
	ix.Reweigh()
	if ix.dict.built != 2 { // yoghurt, natur
		t.Fatalf("dictionary built over %d terms, want the 2 a live product holds", ix.dict.built)
	}
	ix.Put(catalog.Product{ID: "p3", Title: "Avocado"})
	if res, _ := ix.Search(Query{Text: "avacado", K: 5}); len(res.Hits) != 1 || res.Hits[0].ProductID != "p3" {
		t.Fatalf("avacado after the term came back: %+v", res.Hits)
	}
}

// BenchmarkTypoLookup compares the FST dictionary with the sorted-list
// scan it replaced, on pseudo-word vocabularies the size of a 10,000,
// 100,000 and 1,000,000-product catalog's (vocabularyOf), for typo
// lookups at distance 1 (a 6-letter word) and 2 (a 10-letter one), and
// for prefixes: go test -run '^$' -bench TypoLookup ./lexical.
func BenchmarkTypoLookup(b *testing.B) {
	for _, products := range []int{10_000, 100_000, 1_000_000} {
		terms := vocabulary(vocabularyOf(products), 1)
		sorted := slices.Sorted(slices.Values(terms))
		d := dictOf(b, terms, len(terms))
		r := rand.New(rand.NewPCG(3, 3))
		var one, two, pre []string
		for _, w := range terms {
			switch n := utf8.RuneCountInString(w); {
			case n >= typoOneFrom && n < typoTwoFrom && len(one) < 64:
				one = append(one, typoOf(w, 1, r))
			case n >= typoTwoFrom && len(two) < 64:
				two = append(two, typoOf(w, 2, r))
			}
			if len(pre) < 64 {
				pre = append(pre, string([]rune(w)[:3]))
			}
		}
		name := fmt.Sprintf("%d/terms=%d", products, len(terms))
		for _, tc := range []struct {
			kind   string
			qs     []string
			budget int
		}{{"typo1", one, 1}, {"typo2", two, 2}} {
			b.Run(name+"/"+tc.kind+"/scan", func(b *testing.B) {
				i := 0
				for b.Loop() {
					scanWithin(sorted, tc.qs[i%len(tc.qs)], tc.budget)
					i++
				}
			})
			b.Run(name+"/"+tc.kind+"/fst", func(b *testing.B) {
				i := 0
				for b.Loop() {
					d.within(tc.qs[i%len(tc.qs)], tc.budget)
					i++
				}
			})
		}
		b.Run(name+"/prefix/scan", func(b *testing.B) {
			i := 0
			for b.Loop() {
				scanPrefixed(sorted, pre[i%len(pre)], 1)
				i++
			}
		})
		b.Run(name+"/prefix/fst", func(b *testing.B) {
			i := 0
			for b.Loop() {
				prefixed(d.fwd, nil, pre[i%len(pre)], 1)
				i++
			}
		})
		b.Run(name+"/build", func(b *testing.B) {
			for b.Loop() {
				dictOf(b, terms, len(terms))
			}
		})
	}
}

// TestDictionaryRebuildsUnderSearches: typo and prefix lookups go on
// while writes add terms and Reweigh rebuilds the dictionary (run with
// -race), and every search finds what it should.
func TestDictionaryRebuildsUnderSearches(t *testing.T) {
	ix, err := New()
	if err != nil {
		t.Fatal(err)
	}
	ix.Put(catalog.Product{ID: "y", Title: "Yoghurt natural"})
	ix.Reweigh()
	done := make(chan struct{})
	errs := make(chan string, 4)
	for range 2 {
		go func() {
			for {
				select {
				case <-done:
					errs <- ""
					return
				default:
				}
				for _, q := range []string{"yoghrt", "yogh"} {
					if res, err := ix.Search(Query{Text: q, K: 3}); err != nil || len(res.Hits) == 0 || res.Hits[0].ProductID != "y" {
						errs <- fmt.Sprintf("%q: %+v %v", q, res.Hits, err)
						return
					}
				}
			}
		}()
	}
	for i := range 200 {
		ix.Put(catalog.Product{ID: fmt.Sprint("p", i), Title: fmt.Sprintf("Word%dx item", i)})
		if i%20 == 0 {
			ix.Reweigh()
		}
	}
	close(done)
	for range 2 {
		if e := <-errs; e != "" {
			t.Fatal(e)
		}
	}
}
