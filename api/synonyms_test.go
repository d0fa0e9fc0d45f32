package api_test

import (
	"slices"
	"testing"
)

// TestPhraseSynonymsSearch checks synonym rules with phrases through GET
// /v1/search on the demo catalog, each way they are declared: a word for
// a phrase and back (multi-way), a phrase for a word and a word for a
// phrase (one-way).
func TestPhraseSynonymsSearch(t *testing.T) {
	ts, key := indexServer(t, "gräddfil, sour cream", "capsicum, green pepper", "egg plant => aubergine", "yam => sweet potato")
	cases := []struct {
		q    string
		want []string // each within the top len(want)
	}{
		{"gräddfil", []string{"grocery-47-arla-sour-cream", "grocery-46-arla-ecological-sour-cream"}},
		{"sour cream", []string{"grocery-46-arla-ecological-sour-cream", "grocery-47-arla-sour-cream"}},
		{"capsicum", []string{"grocery-69-green-bell-pepper"}},
		{"egg plant", []string{"grocery-60-aubergine"}},
		{"yam", []string{"grocery-75-sweet-potato"}},
	}
	for _, c := range cases {
		got := resultIDs(search(t, ts, key, c.q))
		top := got[:min(len(got), len(c.want))]
		for _, w := range c.want {
			if !slices.Contains(top, w) {
				t.Errorf("%q: %s not in the top %d of %v", c.q, w, len(top), got)
			}
		}
	}
}
