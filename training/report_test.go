package training

import (
	"strings"
	"testing"

	"github.com/vitrinehq/vitrine/fusion"
)

func TestReportText(t *testing.T) {
	tests := []struct {
		name  string
		rep   Report
		tuned bool
		want  []string
	}{
		{"blend tuned", Report{Method: "als", Version: 3, Interactions: 10, Users: 2, Items: 5, Blend: map[string]float64{"collaborative": 1}, BlendNDCG: 0.5},
			true, []string{"trained als model 3 on 10 interactions (2 users, 5 items)", "serving blend tuned on one held-out interaction per user: map[collaborative:1] (validation NDCG@10 0.5000)"}},
		{"too little to tune", Report{Method: "bpr"}, true, []string{"too little behaviour to tune the serving blend"}},
		{"not asked", Report{Method: "bpr"}, false, []string{"served: "}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			tc.rep.Text(&b, tc.tuned)
			for _, w := range tc.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("%q lacks %q", b.String(), w)
				}
			}
			if !tc.tuned && strings.Contains(b.String(), "too little") {
				t.Errorf("untuned report mentions tuning: %q", b.String())
			}
		})
	}
}

func TestFusionReportText(t *testing.T) {
	r := FusionReport{Space: 2, Spec: fusion.Spec{Components: []fusion.Component{{Model: "img@1", Modality: "image"}, {Model: "txt@1", Modality: "text"}}},
		LearnResult: fusion.LearnResult{Weights: map[string]float64{"img@1": 0.8, "txt@1": 0.2}, MRR: 0.3, Baseline: 0.1, Cases: 7}}
	var b strings.Builder
	r.Text(&b)
	want := "to use them: vitrine backfill --image-weight 0.80 --text-weight 0.20 --activate"
	if !strings.Contains(b.String(), want) || !strings.Contains(b.String(), "over 7 users") {
		t.Fatalf("%q lacks %q", b.String(), want)
	}
	r.Spec = r.Spec.Reduced(64)
	b.Reset()
	r.Text(&b)
	if want := "--text-weight 0.20 --reduce 64 --activate"; !strings.Contains(b.String(), want) {
		t.Fatalf("a reduced space's suggestion %q lacks %q", b.String(), want)
	}
	r.MRR = 0.05
	b.Reset()
	r.Text(&b)
	if strings.Contains(b.String(), "backfill") {
		t.Fatalf("weights that lose still suggest a backfill: %q", b.String())
	}
}
