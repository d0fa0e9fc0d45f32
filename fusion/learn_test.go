package fusion_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/vitrinehq/vitrine/fusion"
)

// Shoppers here move between products that look alike (image space) while
// their texts are unrelated: the learned weights must favour the image and
// rank the next product better than the configured equal weights.
func TestLearnWeightsFollowsBehaviour(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	spec := fusion.Spec{Strategy: fusion.WeightedConcat, Components: []fusion.Component{
		{Model: "text@1", Modality: "text", Dim: 8, Weight: 0.5},
		{Model: "image@1", Modality: "image", Dim: 8, Weight: 0.5},
	}}
	vecs := map[string]map[string][]float32{}
	var ids []string
	for i := range 120 {
		id := fmt.Sprintf("p%03d", i)
		ids = append(ids, id)
		vecs[id] = map[string][]float32{"text@1": randVec(r, 8), "image@1": randVec(r, 8)}
	}
	nearestImage := func(from string, skip map[string]bool) string {
		best, bestC := "", -2.0
		for _, id := range ids {
			if skip[id] {
				continue
			}
			if c := cosine(t, vecs[from]["image@1"], vecs[id]["image@1"]); c > bestC {
				best, bestC = id, c
			}
		}
		return best
	}
	var hs []fusion.History
	for range 60 {
		cur := ids[r.IntN(len(ids))]
		h := fusion.History{cur}
		seen := map[string]bool{cur: true}
		for range 2 {
			cur = nearestImage(cur, seen)
			seen[cur] = true
			h = append(h, cur)
		}
		hs = append(hs, h)
	}
	res, err := fusion.LearnWeights(t.Context(), spec, vecs, hs, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("learned %v: MRR %.3f vs %.3f with the configured weights over %d users", res.Weights, res.MRR, res.Baseline, res.Cases)
	if res.Weights["image@1"] <= res.Weights["text@1"] {
		t.Errorf("learned weights %v do not favour the image", res.Weights)
	}
	if res.MRR <= res.Baseline {
		t.Errorf("learned MRR %.3f not above the baseline %.3f", res.MRR, res.Baseline)
	}
	if _, err := fusion.LearnWeights(t.Context(), spec, vecs, hs[:2], 0.1); !errors.Is(err, fusion.ErrTooFewHistories) {
		t.Errorf("two histories: %v", err)
	}
}
