package lexical

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
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
