package lexical

import (
	"slices"
	"testing"

	"github.com/vitrinehq/vitrine/catalog"
)

// churned is a synthetic index after a third of its products were
// deleted and a fifth rewritten (each rewrite moves the product to a new
// slot), weighed afresh; live are the products it holds, in slot order.
func churned(t *testing.T, opts ...Option) (ix *Index, live []catalog.Product) {
	t.Helper()
	ix, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	const n = 3000
	var kept, rewritten []catalog.Product
	for i := range n {
		ix.Put(synthProduct(i, 3))
	}
	for i := range n {
		p := synthProduct(i, 3)
		switch {
		case i%3 == 0:
			ix.Delete(p.ID)
		case i%5 == 0:
			p.Title += " bundle"
			ix.Put(p)
			rewritten = append(rewritten, p)
		default:
			kept = append(kept, p)
		}
	}
	ix.Reweigh()
	return ix, append(kept, rewritten...)
}

// fresh indexes products from scratch, in order.
func fresh(t *testing.T, ps []catalog.Product) *Index {
	t.Helper()
	ix, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		ix.Put(p)
	}
	ix.Reweigh()
	return ix
}

var churnQueries = []Query{
	{Text: "good", K: 10, Facets: true},
	{Text: "organic apple", K: 20, Facets: true},
	{Text: "bundle", K: 5},
	{Text: "red apple juice", K: 10, Filter: catalog.Filter{Category: []string{"Dairy"}, MaxPrice: ptr(60)}},
	{Text: "swedish honey", K: 10, Filter: catalog.Filter{Brands: []string{"Acme", "Nordic"}}},
}

// sameResults checks that two indexes answer alike: hits (ids and
// scores), totals and facets.
func sameResults(t *testing.T, what string, got, want *Index) {
	t.Helper()
	for _, q := range churnQueries {
		g, err := got.Search(q)
		if err != nil {
			t.Fatal(err)
		}
		w, err := want.Search(q)
		if err != nil {
			t.Fatal(err)
		}
		if g.Total != w.Total || !slices.Equal(ids(g.Hits), ids(w.Hits)) || !equalFacets(g.Facets, w.Facets) {
			t.Errorf("%s, %q: total %d hits %v, want %d %v", what, q.Text, g.Total, ids(g.Hits), w.Total, ids(w.Hits))
			continue
		}
		for i := range g.Hits {
			if d := g.Hits[i].Score - w.Hits[i].Score; d > 1e-9 || d < -1e-9 {
				t.Errorf("%s, %q: hit %d score %g, want %g", what, q.Text, i, g.Hits[i].Score, w.Hits[i].Score)
			}
		}
	}
}

// Removing a product leaves its postings in place (no work proportional
// to a frequent word's list) and searches answer exactly as an index
// built from the live products alone; Compact reclaims every dead slot
// and posting without changing an answer.
func TestRemovedProductsAreSkippedThenCompacted(t *testing.T) {
	ix, live := churned(t)
	want := fresh(t, live)
	good := ix.post[ix.terms["good"]]
	if dead, slots := ix.Dead(); dead != 1000+400 || slots != 3000+400 || len(good.docs) != slots || good.live != len(live) {
		t.Fatalf("before compaction: %d dead of %d slots, %q postings %d (live %d); want 1400 of 3400, postings kept, %d live",
			dead, slots, "good", len(good.docs), good.live, len(live))
	}
	sameResults(t, "before compaction", ix, want)
	if !ix.Compact() {
		t.Fatal("Compact did nothing with 41% of slots dead")
	}
	if dead, slots := ix.Dead(); dead != 0 || slots != len(live) {
		t.Errorf("after compaction: %d dead of %d slots, want 0 of %d", dead, slots, len(live))
	}
	for term, tid := range ix.terms {
		p := ix.post[tid]
		if len(p.docs) != p.live || len(p.w) != p.live || len(p.tf) != p.live || !slices.IsSorted(p.docs) {
			t.Fatalf("term %q: %d postings, %d live after compaction", term, len(p.docs), p.live)
		}
	}
	sameResults(t, "after compaction", ix, want)
	// The index keeps working: writes after compaction land as before.
	extra := synthProduct(9999, 3)
	ix.Put(extra)
	want.Put(extra)
	ix.Reweigh()
	want.Reweigh()
	sameResults(t, "a write after compaction", ix, want)
}

func TestCompactWaitsForItsShare(t *testing.T) {
	ix, _ := churned(t, WithCompaction(0.5))
	if ix.Compact() {
		t.Errorf("compacted at 41%% dead with a 50%% threshold")
	}
	if dead, _ := ix.Dead(); dead != 1400 {
		t.Errorf("%d dead slots, want 1400 kept", dead)
	}
	if _, err := New(WithCompaction(0)); err == nil {
		t.Error("New accepted a compaction share of 0")
	}
}

// While Compact builds the compacted index, searches run, even with a
// write waiting for it (a waiting writer must not hold readers back).
func TestCompactLetsSearchesRun(t *testing.T) {
	ix, live := churned(t)
	extra := synthProduct(9999, 3)
	written := make(chan struct{})
	searched := make(chan Result)
	ix.compacting = func() {
		go func() {
			ix.Put(extra)
			close(written)
		}()
		go func() {
			res, _ := ix.Search(Query{Text: "good", K: 10})
			searched <- res
		}()
		if res := <-searched; res.Total != len(live) {
			t.Errorf("search during compaction: total %d, want %d", res.Total, len(live))
		}
		select {
		case <-written:
			t.Error("a write went through while the compacted index was being built")
		default:
		}
	}
	if !ix.Compact() {
		t.Fatal("Compact did nothing")
	}
	<-written
	if res, _ := ix.Search(Query{Text: "good", K: 10}); res.Total != len(live)+1 {
		t.Errorf("after compaction and the write: total %d, want %d", res.Total, len(live)+1)
	}
}
