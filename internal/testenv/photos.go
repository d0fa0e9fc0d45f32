package testenv

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// DevPhotos reads up to n (all when n < 1) of the Grocery Store Dataset's
// development shop photos listed in <assets>/data/grocery/photos_dev.txt
// (VITRINE_ASSETS, else the shared directory beside the module), in the
// list's order.
func DevPhotos(t testing.TB, n int) [][]byte {
	t.Helper()
	var out [][]byte
	for _, p := range GroceryPhotos(t, "photos_dev.txt", n) {
		out = append(out, p.Data)
	}
	return out
}

// LabelledPhoto is one shop photo of the Grocery Store Dataset and its
// fine class id (a demo product's attributes.fine_class_id).
type LabelledPhoto struct {
	Fine int
	Data []byte
}

// GroceryPhotos reads up to n (all when n < 1) of the shop photos a list
// of <assets>/data/grocery names ("path, fine class id, coarse class id"
// a line: photos_dev.txt, photos_train.txt), in the list's order.
func GroceryPhotos(t testing.TB, list string, n int) []LabelledPhoto {
	t.Helper()
	root := os.Getenv("VITRINE_ASSETS")
	if root == "" {
		root = filepath.Join(Root(t), "..", "shared")
	}
	dir := filepath.Join(root, "data", "grocery")
	f, err := os.Open(filepath.Join(dir, list))
	if err != nil {
		t.Fatalf("grocery photos (set VITRINE_ASSETS to the shared directory): %v", err)
	}
	defer f.Close()
	var out []LabelledPhoto
	sc := bufio.NewScanner(f)
	for sc.Scan() && (n < 1 || len(out) < n) {
		fields := strings.Split(sc.Text(), ",")
		if len(fields) < 2 {
			continue
		}
		fine, err := strconv.Atoi(strings.TrimSpace(fields[1]))
		if err != nil {
			t.Fatalf("%s: %q: %v", list, sc.Text(), err)
		}
		data, err := os.ReadFile(filepath.Join(dir, strings.TrimSpace(fields[0])))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, LabelledPhoto{Fine: fine, Data: data})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("no photos listed in %s", f.Name())
	}
	return out
}
