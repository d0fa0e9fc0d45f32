package training

import (
	"testing"

	"github.com/vitrinehq/vitrine/recommend"
)

// Training fits the registry's models with the registry's defaults: the
// ones `vitrine eval recs` evaluates.
func TestOptionsResolveAgainstTheRegistry(t *testing.T) {
	tests := []struct {
		name   string
		o      Options
		method string
		over   recommend.Params
		err    bool
		served string // the served choice's method
	}{
		{"zero options: als defaults", Options{}, "als", recommend.Params{}, false, "als"},
		{"bpr defaults", Options{Method: "bpr"}, "bpr", recommend.Params{}, false, "bpr"},
		{"overrides", Options{Factors: 8, Reg: 1, Seed: 3}, "als", recommend.Params{Factors: 8, Reg: 1, Seed: 3}, false, "als"},
		{"item-based: served from lists, als stored", Options{Method: "itemknn"}, "als", recommend.Params{}, false, "itemknn"},
		{"sequence: served from lists", Options{Method: "transitions", Seed: 2}, "als", recommend.Params{Seed: 2}, false, "transitions"},
		{"session kNN has nothing to store", Options{Method: "sknn"}, "", recommend.Params{}, true, ""},
		{"unknown", Options{Method: "svd++"}, "", recommend.Params{}, true, ""},
	}
	for _, tc := range tests {
		method, p, choice, err := tc.o.params()
		if (err != nil) != tc.err {
			t.Fatalf("%s: error %v", tc.name, err)
		}
		if tc.err {
			continue
		}
		want, _ := recommend.Resolve(tc.method, tc.over)
		if method != tc.method || p != want {
			t.Errorf("%s: %s %+v, want %s %+v", tc.name, method, p, tc.method, want)
		}
		if choice.String() != tc.served {
			t.Errorf("%s: serves %s, want %s", tc.name, choice, tc.served)
		}
	}
}
