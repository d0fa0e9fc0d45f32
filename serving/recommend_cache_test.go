package serving_test

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/serving"
)

// rowCounter counts the full model-row reads of the backend it wraps.
type rowCounter struct {
	*memBackend
	rows atomic.Int32
}

func (c *rowCounter) ActiveCFModel(ctx context.Context) (records.CFModel, error) {
	c.rows.Add(1)
	return c.memBackend.ActiveCFModel(ctx)
}

// The model row is read once per activated version, and a newly
// activated (or removed) model is served from the next request: the cache
// is keyed by the version every request reads.
func TestRecommendServesActiveModelVersion(t *testing.T) {
	b := grocery()
	b.userFactors["u"] = []float32{1, 0}
	for id, f := range map[string][]float32{"apple-green": {1, 0}, "pear": {0.5, 0}, "milk": {0.1, 0.5}} {
		b.itemFactors[id] = f
	}
	b.userVecs["u"] = records.UserVector{UserID: "u", Space: 1, Vector: []float32{1, 0}}
	c := &rowCounter{memBackend: b}
	s, err := serving.New(serving.DepsFrom(c, words, nil))
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name     string
		model    *records.CFModel
		strategy string
		version  int
		rows     int32 // row reads so far
	}{
		{"first model", &records.CFModel{Version: 3, Method: "bpr", Dim: 2}, serving.StrategyHybrid, 3, 1},
		{"same model again", &records.CFModel{Version: 3, Method: "bpr", Dim: 2}, serving.StrategyHybrid, 3, 1},
		{"retrained", &records.CFModel{Version: 4, Method: "bpr", Dim: 2}, serving.StrategyHybrid, 4, 2},
		{"model removed", nil, serving.StrategyContent, 0, 2},
	}
	for _, st := range steps {
		b.cf = st.model
		for range 3 {
			res, err := s.Recommend(t.Context(), serving.RecommendRequest{UserID: "u", K: 3})
			if err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			if res.Strategy != st.strategy || res.CFModel != st.version || len(res.Hits) == 0 || slices.Contains(serving.IDs(res.Hits), "") {
				t.Fatalf("%s: %s model %d %v, want %s model %d", st.name, res.Strategy, res.CFModel, serving.IDs(res.Hits), st.strategy, st.version)
			}
		}
		if got := c.rows.Load(); got != st.rows {
			t.Errorf("%s: %d model row reads, want %d", st.name, got, st.rows)
		}
	}
}
