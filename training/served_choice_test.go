package training

import (
	"testing"

	"github.com/vitrinehq/vitrine/recommend"
)

// What the search can choose is what training serves: a blend of the
// methods the search blends (recommend.Blendable, at most one factor
// method) is served whole, with its weights; a method the API cannot
// serve is only ever chosen alone, and then the best servable method is
// served instead.
func TestServableKeepsBlendableChoices(t *testing.T) {
	best := []recommend.Trial{{Method: "sknn", Score: 0.30}, {Method: "transitions", Score: 0.27}, {Method: "ease", Score: 0.08}, {Method: "als", Score: 0.06}}
	blend := func(cs ...recommend.Component) recommend.SearchResult {
		return recommend.SearchResult{Best: best, Choice: recommend.Choice{Components: cs, Score: 0.31}}
	}
	tests := []struct {
		name string
		res  recommend.SearchResult
		want string
	}{
		{"item-based blend", blend(recommend.Component{Method: "transitions", Weight: 1}, recommend.Component{Method: "ease", Weight: 0.2}), "blend(transitions 1, ease 0.2)"},
		{"with the factor method", blend(recommend.Component{Method: "transitions", Weight: 1}, recommend.Component{Method: "als", Weight: 0.05}), "blend(transitions 1, als 0.05)"},
		{"session kNN alone", blend(recommend.Component{Method: "sknn", Weight: 1}), "transitions"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, c := range tc.res.Choice.Components {
				if len(tc.res.Choice.Components) > 1 && !recommend.Blendable(c.Method) {
					t.Fatalf("fixture blends %s, which the search never blends", c.Method)
				}
			}
			if got := servable(tc.res).String(); got != tc.want {
				t.Errorf("served %s, want %s", got, tc.want)
			}
		})
	}
}
