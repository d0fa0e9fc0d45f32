package store_test

import (
	"testing"

	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/store"
)

// Saving a model activates it whatever the heap order of the model rows:
// once pruned models' space is vacuumed, the new row comes before the
// active one, and a single UPDATE flipping both used to break the
// one-active index ("duplicate key value"), failing every later training.
func TestSaveCFModelActivatesAfterPruning(t *testing.T) {
	s, ctx := open(t)
	m := records.CFModel{Method: "als", Dim: 2, Gram: []float64{1, 0, 0, 1}}
	for n := range 6 {
		v, err := s.SaveCFModel(ctx, m, nil, nil)
		if err != nil {
			t.Fatalf("save %d: %v", n, err)
		}
		if _, err := store.RawPool(s).Exec(ctx, `VACUUM cf_models`); err != nil {
			t.Fatal(err)
		}
		active, err := s.ActiveCFVersion(ctx)
		if err != nil || active != v {
			t.Fatalf("save %d: active %d (%v), want %d", n, active, err, v)
		}
	}
}
