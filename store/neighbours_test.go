package store_test

import (
	"testing"

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
