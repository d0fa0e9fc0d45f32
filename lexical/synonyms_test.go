package lexical

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vitrinehq/vitrine/catalog"
)

func TestLoadSynonyms(t *testing.T) {
	file := filepath.Join(t.TempDir(), "syn.txt")
	if err := os.WriteFile(file, []byte("# shop words\neggplant => aubergine\n\ncourgette, zucchini\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := LoadSynonyms("a, b;c => d", file)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(got, "a, b") || !slices.Contains(got, "c => d") || !slices.Contains(got, "eggplant => aubergine") || !slices.Contains(got, "courgette, zucchini") {
		t.Fatalf("rules %q", got)
	}
	if _, err := LoadSynonyms("", filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("a missing synonyms file loaded")
	}
}

// TestPhraseSynonyms covers synonym rules with phrases, each way they
// are declared: a phrase for a word, a word for a phrase, multi-way
// between both, and a phrase only when its words are adjacent in the
// query.
func TestPhraseSynonyms(t *testing.T) {
	ix, err := New(WithSynonyms("ice cream => glass", "bell pepper, capsicum", "chili => chili pepper"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []catalog.Product{
		{ID: "icecream", Title: "Vanilla ice cream"}, {ID: "glass", Title: "Glass vanilla"}, {ID: "ice", Title: "Ice cubes"},
		{ID: "bell", Title: "Red bell pepper"}, {ID: "capsicum", Title: "Capsicum mix"}, {ID: "black", Title: "Black pepper"},
		{ID: "chilipepper", Title: "Chili pepper"}, {ID: "chilisauce", Title: "Chili sauce"},
	} {
		ix.Put(p)
	}
	ix.Reweigh()
	cases := []struct {
		q    string
		want []string // as a set
	}{
		{"ice cream", []string{"icecream", "glass"}}, // one-way: the phrase also finds glass
		{"glass", []string{"glass"}},                 // ...not the reverse
		{"vanilla ice cream", []string{"icecream", "glass"}},
		{"capsicum", []string{"capsicum", "bell"}}, // multi-way, a word for a phrase
		{"bell pepper", []string{"bell", "capsicum"}},
		{"red bell pepper", []string{"bell"}},                // every unit held: red, and bell pepper or capsicum
		{"pepper", []string{"bell", "black", "chilipepper"}}, // one word of the phrase: no synonym
		{"chili", []string{"chilipepper", "chilisauce"}},
	}
	for _, c := range cases {
		res, err := ix.Search(Query{Text: c.q, K: 10})
		if err != nil {
			t.Fatal(err)
		}
		got := ids(res.Hits)
		slices.Sort(got)
		want := slices.Clone(c.want)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%q finds %v, want %v", c.q, got, want)
		}
	}
	// What the query says outranks its synonym.
	for q, first := range map[string]string{"ice cream": "icecream", "capsicum": "capsicum", "bell pepper": "bell"} {
		if res, _ := ix.Search(Query{Text: q, K: 10}); len(res.Hits) == 0 || res.Hits[0].ProductID != first {
			t.Errorf("%q: %v, want %s first", q, ids(res.Hits), first)
		}
	}
	for _, bad := range []string{"ice cream =>", ", capsicum", "pepper"} {
		if _, err := New(WithSynonyms(bad)); !errors.Is(err, ErrConfig) {
			t.Errorf("rule %q: %v, want ErrConfig", bad, err)
		}
	}
}
