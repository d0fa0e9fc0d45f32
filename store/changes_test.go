package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/catalog"

	"github.com/vitrinehq/vitrine/records"
)

func TestProductChangeLog(t *testing.T) {
	s, ctx := open(t)
	start, err := s.ProductChangeSeqBefore(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	woken := make(chan struct{}, 16)
	lctx, stop := context.WithCancel(ctx)
	listening := make(chan error, 1)
	go func() {
		listening <- s.ListenProductChanges(lctx, func() {
			select {
			case woken <- struct{}{}:
			default:
			}
		})
	}()
	<-woken // the first wake says LISTEN is in place
	if _, err := s.UpsertProducts(ctx, []catalog.Product{product("a", "Apple"), product("b", "Banana")}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-woken:
	case <-time.After(5 * time.Second):
		t.Fatal("no notification after an upsert")
	}
	if _, err := s.UpsertProducts(ctx, []catalog.Product{product("a", "Green apple")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpsertProducts(ctx, []catalog.Product{product("a", "Green apple")}); err != nil { // unchanged: no row
		t.Fatal(err)
	}
	if err := s.DeleteProduct(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	cs, err := s.ProductChangesAfter(ctx, start, 100)
	if err != nil {
		t.Fatal(err)
	}
	want := []records.ProductChange{{ProductID: "a"}, {ProductID: "b"}, {ProductID: "a"}, {ProductID: "b", Deleted: true}}
	if len(cs) != len(want) {
		t.Fatalf("changes = %+v, want %+v", cs, want)
	}
	for i, c := range cs {
		if c.ProductID != want[i].ProductID || c.Deleted != want[i].Deleted || (i > 0 && c.Seq <= cs[i-1].Seq) {
			t.Errorf("change %d = %+v, want %+v in sequence order", i, c, want[i])
		}
	}
	if tail, _ := s.ProductChangesAfter(ctx, cs[1].Seq, 1); len(tail) != 1 || tail[0].Seq != cs[2].Seq {
		t.Errorf("changes after %d (limit 1) = %+v", cs[1].Seq, tail)
	}
	if seq, _ := s.ProductChangeSeqBefore(ctx, time.Now().Add(time.Hour)); seq != cs[3].Seq {
		t.Errorf("sequence before the future = %d, want the last %d", seq, cs[3].Seq)
	}
	if seq, _ := s.ProductChangeSeqBefore(ctx, cs[2].At); seq != cs[1].Seq {
		t.Errorf("sequence before change 3 = %d, want %d", seq, cs[1].Seq)
	}
	if n, err := s.DeleteProductChangesBefore(ctx, time.Now().Add(time.Hour)); err != nil || n != 4 {
		t.Errorf("trim = %d, %v; want 4", n, err)
	}
	stop()
	if err := <-listening; err == nil {
		t.Error("ListenProductChanges returned nil after its context ended")
	}
}

// Trimming a backlog longer than one batch drops it all, and only the
// rows written before the cut.
func TestTrimProductChangesInBatches(t *testing.T) {
	s, ctx := open(t)
	const n = 10050 // over one trimming batch
	ps := make([]catalog.Product, 0, 1000)
	for i := range n {
		ps = append(ps, product(fmt.Sprintf("p%05d", i), "Product"))
		if len(ps) == cap(ps) || i == n-1 {
			if _, err := s.UpsertProducts(ctx, ps); err != nil {
				t.Fatal(err)
			}
			ps = ps[:0]
		}
	}
	cut := time.Now()
	time.Sleep(10 * time.Millisecond) // the next row is written after the cut
	if err := s.DeleteProduct(ctx, "p00000"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.DeleteProductChangesBefore(ctx, cut); err != nil || got != n {
		t.Fatalf("trim = %d, %v; want %d", got, err, n)
	}
	cs, err := s.ProductChangesAfter(ctx, 0, 100)
	if err != nil || len(cs) != 1 || cs[0].ProductID != "p00000" || !cs[0].Deleted {
		t.Errorf("left after the trim: %+v, %v; want the delete written after the cut", cs, err)
	}
}
