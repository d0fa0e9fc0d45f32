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
	}{
		{"zero options: als defaults", Options{}, "als", recommend.Params{}, false},
		{"bpr defaults", Options{Method: "bpr"}, "bpr", recommend.Params{}, false},
		{"overrides", Options{Factors: 8, Reg: 1, Seed: 3}, "als", recommend.Params{Factors: 8, Reg: 1, Seed: 3}, false},
		{"no factors to serve", Options{Method: "itemknn"}, "", recommend.Params{}, true},
		{"unknown", Options{Method: "svd++"}, "", recommend.Params{}, true},
	}
	for _, tc := range tests {
		method, p, err := tc.o.params()
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
	}
}
