package testenv

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// DevPhotos reads up to n (all when n < 1) of the Grocery Store Dataset's
// development shop photos listed in <assets>/data/grocery/photos_dev.txt
// (VITRINE_ASSETS, else the shared directory beside the module), in the
// list's order.
func DevPhotos(t testing.TB, n int) [][]byte {
	t.Helper()
	dir := GroceryDir(t)
	f, err := os.Open(filepath.Join(dir, "photos_dev.txt"))
	if err != nil {
		t.Fatalf("grocery photos (set VITRINE_ASSETS to the shared directory): %v", err)
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	for sc.Scan() && (n < 1 || len(out) < n) {
		rel, _, ok := strings.Cut(sc.Text(), ",")
		if !ok {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, strings.TrimSpace(rel)))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, data)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("no photos listed in %s", f.Name())
	}
	return out
}

// GroceryDir is the Grocery Store Dataset's directory of the shared assets,
// <assets>/data/grocery (VITRINE_ASSETS, else the shared directory beside
// the module): its photo lists and the photos they name.
func GroceryDir(t testing.TB) string {
	t.Helper()
	root := os.Getenv("VITRINE_ASSETS")
	if root == "" {
		root = filepath.Join(Root(t), "..", "shared")
	}
	return filepath.Join(root, "data", "grocery")
}
