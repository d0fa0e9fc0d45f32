package store_test

import (
	"slices"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/records"
)

// Neighbour lists are stored per model and method, read back best first
// for the asked products only, and replaced when saved again.
func TestItemNeighbours(t *testing.T) {
	s, ctx := open(t)
	v, err := s.SaveCFModel(ctx, records.CFModel{Method: "als", Dim: 2, Gram: []float64{1, 0, 0, 1}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	lists := []struct {
		id string
		ns []records.Scored
	}{
		{"a", []records.Scored{{ProductID: "b", Score: 0.75}, {ProductID: "c", Score: 0.5}}},
		{"b", []records.Scored{{ProductID: "a", Score: 1}}},
	}
	save := func(method string, n int) {
		t.Helper()
		k := 0
		got, err := s.SaveItemNeighbours(ctx, v, method, func() (string, []records.Scored, bool) {
			if k >= n {
				return "", nil, false
			}
			k++
			return lists[k-1].id, lists[k-1].ns, true
		})
		if err != nil || got != n {
			t.Fatalf("save %s: %d rows, %v", method, got, err)
		}
	}
	save("itemknn", 2)
	save("transitions", 1)
	got, err := s.ItemNeighbours(ctx, v, "itemknn", []string{"a", "zz"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got["a"]) != 2 || got["a"][0] != lists[0].ns[0] || got["a"][1] != lists[0].ns[1] {
		t.Errorf("itemknn lists %v, want a: %v", got, lists[0].ns)
	}
	save("itemknn", 1)
	if got, err = s.ItemNeighbours(ctx, v, "itemknn", []string{"a", "b"}); err != nil || len(got) != 1 {
		t.Errorf("after replacing: %v, %v; want a only", got, err)
	}
	if got, err = s.ItemNeighbours(ctx, v+1, "itemknn", []string{"a"}); err != nil || len(got) != 0 {
		t.Errorf("another version: %v, %v; want none", got, err)
	}
}

// Content-neighbour lists are stored per space, read back best first for
// the asked products stored at or after the time given, replaced when
// saved again, and dropped with their space.
func TestContentNeighbours(t *testing.T) {
	s, ctx := open(t)
	sp, err := s.CreateSpace(ctx, records.NewSpace{Name: "lists", Dim: 2})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := []records.Scored{{ProductID: "b", Score: 0.75}, {ProductID: "c", Score: 0.5}}
	if err := s.SaveContentNeighbours(ctx, sp.Version, map[string][]records.Scored{"a": a, "z": {}}, at); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveContentNeighbours(ctx, sp.Version, map[string][]records.Scored{"b": {{ProductID: "a", Score: 0.75}}}, at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		space int
		ids   []string
		since time.Time
		want  map[string]int // list lengths
	}{
		{"all fresh", sp.Version, []string{"a", "b", "z", "unknown"}, at, map[string]int{"a": 2, "b": 1, "z": 0}},
		{"older ones left out", sp.Version, []string{"a", "b"}, at.Add(time.Minute), map[string]int{"b": 1}},
		{"another space", sp.Version + 1, []string{"a"}, at, map[string]int{}},
	}
	for _, c := range cases {
		got, err := s.ContentNeighbours(ctx, c.space, c.ids, c.since)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if len(got) != len(c.want) {
			t.Errorf("%s: %v, want lengths %v", c.name, got, c.want)
		}
		for id, n := range c.want {
			if l, ok := got[id]; !ok || len(l) != n {
				t.Errorf("%s: %s's list %v, want %d long", c.name, id, l, n)
			}
		}
	}
	got, _ := s.ContentNeighbours(ctx, sp.Version, []string{"a"}, at)
	if !slices.Equal(got["a"], a) {
		t.Errorf("a's list %v, want %v", got["a"], a)
	}
	if err := s.SaveContentNeighbours(ctx, sp.Version, map[string][]records.Scored{"a": a[:1]}, at.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ContentNeighbours(ctx, sp.Version, []string{"a"}, at.Add(2*time.Hour)); err != nil || len(got["a"]) != 1 {
		t.Errorf("after replacing: %v, %v; want a's list 1 long", got, err)
	}
	if err := s.DropSpace(ctx, sp.Version); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ContentNeighbours(ctx, sp.Version, []string{"a", "b"}, at); err != nil || len(got) != 0 {
		t.Errorf("after dropping the space: %v, %v; want none", got, err)
	}
	if err := s.SaveContentNeighbours(ctx, sp.Version, map[string][]records.Scored{"a": a}, at); err != nil {
		t.Errorf("saving for a dropped space: %v, want nothing stored and no error", err)
	}
}

// A product's content-neighbour list is read only while it is newer than
// the product's vector: writing the vector again retires it until a list
// is saved anew.
func TestContentNeighboursFollowVectors(t *testing.T) {
	s, ctx := open(t)
	sp, err := s.CreateSpace(ctx, records.NewSpace{Name: "lists", Dim: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpsertProducts(ctx, []catalog.Product{product("a", "A")}); err != nil {
		t.Fatal(err)
	}
	put := func(v []float32) {
		t.Helper()
		if err := s.PutProductVectors(ctx, sp.Version, []records.ProductVector{{ProductID: "a", Vector: v, SourceHash: []byte{byte(len(v))}}}); err != nil {
			t.Fatal(err)
		}
	}
	save := func() {
		t.Helper()
		if err := s.SaveContentNeighbours(ctx, sp.Version, map[string][]records.Scored{"a": {{ProductID: "b", Score: 0.5}}}, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name   string
		change func()
		listed bool
	}{
		{"saved after the vector", func() { put([]float32{1, 0}); save() }, true},
		{"vector written again", func() { put([]float32{0, 1}) }, false},
		{"saved anew", save, true},
	}
	for _, st := range steps {
		st.change()
		got, err := s.ContentNeighbours(ctx, sp.Version, []string{"a"}, time.Now().Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if _, listed := got["a"]; listed != st.listed {
			t.Errorf("%s: listed %v, want %v", st.name, listed, st.listed)
		}
	}
}
