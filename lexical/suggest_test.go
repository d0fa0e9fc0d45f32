package lexical

import (
	"context"
	"slices"
	"testing"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/records"
)

func suggestIndex(t *testing.T) *Index {
	t.Helper()
	ix, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []catalog.Product{
		{ID: "b1", Title: "Banana Ecological", Category: []string{"Fruit"}},
		{ID: "b2", Title: "Bananas", Category: []string{"Fruit"}},
		{ID: "b3", Title: "Band-aid", Brand: "Bandix", Category: []string{"Pharmacy"}},
		{ID: "y1", Title: "Yoghurt natural", Category: []string{"Dairy"}},
		{ID: "a1", Title: "Apples", Description: "Banal but crisp"},
	} {
		ix.Put(p)
	}
	ix.Reweigh()
	return ix
}

func texts(ss []records.Suggestion) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.Text
	}
	return out
}

// TestSuggest: the last word is completed from titles, brands and
// categories (never from descriptions), written as the catalog writes
// it, the most common first; a misspelt word is corrected; earlier words
// are kept.
func TestSuggest(t *testing.T) {
	ix := suggestIndex(t)
	cases := []struct {
		prefix string
		k      int
		want   []string // in order
	}{
		{"ban", 8, []string{"banana", "band", "bandix"}},
		{"ban", 1, []string{"banana"}},
		{"yoghrt", 8, []string{"yoghurt"}},
		{"apples", 8, []string{"apples"}},
		{"ecological ban", 8, []string{"ecological banana"}}, // only what products hold with the earlier words
		{"Ecological  BAN", 8, []string{"ecological banana"}},
		{"ripe ban", 8, nil}, // ripe is in no product
		{"ecological yoghrt", 8, nil},
		{"dai", 8, []string{"dairy"}},
		{"banal", 8, nil}, // only in a description
		{"   ", 8, nil},
	}
	for _, c := range cases {
		got := texts(ix.Suggest(c.prefix, c.k, nil))
		if !slices.Equal(got, c.want) {
			t.Errorf("Suggest(%q, %d) = %q, want %q", c.prefix, c.k, got, c.want)
		}
	}
	if s := ix.Suggest("bandi", 8, nil); len(s) != 1 || s[0].Kind != "brand" {
		t.Errorf("bandi: %+v, want the brand", s)
	}
	// A user's category lifts its name above more common words.
	if s := ix.Suggest("d", 8, []string{"Dairy"}); len(s) == 0 || s[0].Text != "dairy" || s[0].Kind != "category" {
		t.Errorf("d with Dairy boosted: %+v", s)
	}
}

// fixedSuggester is an in-memory Suggester (this package's own port).
type fixedSuggester []records.Suggestion

func (f fixedSuggester) Suggest(context.Context, string, int, []string) ([]records.Suggestion, error) {
	return f, nil
}
func (fixedSuggester) LogQuery(context.Context, string, string) error { return nil }

// TestTextSuggest: Text answers from the dictionary and tops up from its
// Suggester (logged queries) when the dictionary has fewer than k.
func TestTextSuggest(t *testing.T) {
	sy := NewSyncer(nil)
	sy.ix.Store(suggestIndex(t))
	close(sy.ready)
	pop := fixedSuggester{{Text: "banana bread", Kind: "query", Score: 1.5}, {Text: "Banana", Kind: "title", Score: 1}}
	txt := Text{Syncer: sy, Suggester: pop}
	got, err := txt.Suggest(t.Context(), "bana", 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"banana", "banana bread"}; !slices.Equal(texts(got), want) {
		t.Errorf("bana: %q, want %q (the dictionary's, then the logged query; Banana once)", texts(got), want)
	}
	got, _ = Text{Syncer: sy}.Suggest(t.Context(), "bana", 3, nil)
	if want := []string{"banana"}; !slices.Equal(texts(got), want) {
		t.Errorf("bana without a Suggester: %q", texts(got))
	}
}
