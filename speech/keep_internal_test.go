package speech

import (
	"slices"
	"strings"
	"testing"
)

// TestCatalogShare: the share of a transcript's word pairs (sentence
// start and end included) found among the catalog phrases' bigrams.
func TestCatalogShare(t *testing.T) {
	r := &Recognizer{pairs: map[[2]string]bool{}}
	for _, p := range [][2]string{{sentStart, "red"}, {"red", "apple"}, {"apple", sentEnd}, {sentStart, "juice"}, {"juice", sentEnd}} {
		r.pairs[p] = true
	}
	for _, tc := range []struct {
		text string
		want float64
	}{
		{"red apple", 1},
		{"juice", 1},
		{"red juice", 2.0 / 3},     // <s> red, juice </s> of three pairs
		{"green apple pie", 0},     // no pair
		{"red apple pie", 2.0 / 4}, // <s> red, red apple
		{"", 0},
	} {
		if got := r.catalogShare(tc.text); got < tc.want-1e-9 || got > tc.want+1e-9 {
			t.Errorf("%q: share %.3f, want %.3f", tc.text, got, tc.want)
		}
	}
}

// TestReadings: n-best hypotheses lose their fillers and pronunciation
// marks, and readings keep the first n distinct ones.
func TestReadings(t *testing.T) {
	for _, tc := range []struct{ hyp, want string }{
		{"<s> oat milk(2) </s>", "oat milk"},
		{"<sil> [NOISE] red bell pepper <sil>", "red bell pepper"},
		{"<s> <sil> </s>", ""},
	} {
		if got := strings.Join(realWords(tc.hyp), " "); got != tc.want {
			t.Errorf("realWords(%q) = %q, want %q", tc.hyp, got, tc.want)
		}
	}
	got := distinctReadings([]string{"oat milk", "", "oatly oat milk", "oat milk", "milk", "oat"}, 3)
	if want := []string{"oat milk", "oatly oat milk", "milk"}; !slices.Equal(got, want) {
		t.Errorf("distinctReadings = %q, want %q", got, want)
	}
}
