package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vitrinehq/vitrine/ingest"
)

// datasetDir finds the Grocery Store Dataset: $VITRINE_ASSETS/data/grocery
// when VITRINE_ASSETS is set, else ../shared/data/grocery beside the
// repository. It fails (never skips) when the dataset is missing.
func datasetDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "..", "shared", "data", "grocery")
	if a := os.Getenv("VITRINE_ASSETS"); a != "" {
		dir = filepath.Join(a, "data", "grocery")
	}
	if _, err := os.Stat(filepath.Join(dir, "classes.csv")); err != nil {
		abs, _ := filepath.Abs(dir)
		t.Fatalf("Grocery Store Dataset not found at %s (%v): it lives in shared/data/grocery beside the "+
			"repository; set VITRINE_ASSETS to the shared directory if it is elsewhere", abs, err)
	}
	return dir
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sourceClasses reads classes.csv rows (without the header).
func sourceClasses(t *testing.T, src string) [][]string {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(readFile(t, filepath.Join(src, "classes.csv")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows[1:]
}

// listFiles returns every regular file under dir as slash paths.
func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

var (
	allowedKeys = []string{"attributes", "brand", "category", "currency", "description", "id", "images", "price", "title"}
	allowedAttr = map[string]bool{"origin": true, "size": true, "fine_class_id": true, "coarse_class_id": true}
	idRE        = regexp.MustCompile(`^grocery-[0-9]{2}-[a-z0-9-]+$`)
	topFolders  = map[string]bool{"Fruit": true, "Vegetables": true, "Packages": true}
)

func TestGenerate(t *testing.T) {
	src := datasetDir(t)
	out1, out2 := t.TempDir(), t.TempDir()
	for _, out := range []string{out1, out2} {
		n, err := generate(src, out)
		if err != nil {
			t.Fatalf("generate: %v", err)
		}
		if n != 81 {
			t.Errorf("generate wrote %d products, want 81", n)
		}
	}

	// Deterministic: two runs give the same files, byte for byte.
	files1, files2 := listFiles(t, out1), listFiles(t, out2)
	if !slices.Equal(files1, files2) {
		t.Fatalf("two runs wrote different file sets:\n%v\n%v", files1, files2)
	}
	for _, f := range files1 {
		if !bytes.Equal(readFile(t, filepath.Join(out1, f)), readFile(t, filepath.Join(out2, f))) {
			t.Errorf("%s differs between two runs", f)
		}
	}
	if len(files1) != 81+4 {
		t.Errorf("wrote %d files, want 81 images + catalog.jsonl, classes.csv, LICENSE, README.md: %v", len(files1), files1)
	}

	// Copies.
	for _, f := range []string{"LICENSE", "classes.csv"} {
		if !bytes.Equal(readFile(t, filepath.Join(out1, f)), readFile(t, filepath.Join(src, f))) {
			t.Errorf("%s is not a byte-identical copy of the source", f)
		}
	}
	readme := string(readFile(t, filepath.Join(out1, "README.md")))
	for _, want := range []string{"Klasson", "Zhang", "Kjellström", "A Hierarchical Grocery Store Image Dataset with Visual and Semantic Labels", "WACV", "2019", "MIT", "retailer", "go run ./demo/grocery/gen"} {
		if !strings.Contains(readme, want) {
			t.Errorf("README.md does not mention %q", want)
		}
	}
	if _, err := os.Stat(filepath.Join(out1, "photos_dev.txt")); err == nil {
		t.Error("photos_dev.txt must not be copied")
	}

	// The catalog itself.
	rows := sourceClasses(t, src)
	catalog := readFile(t, filepath.Join(out1, "catalog.jsonl"))
	if !bytes.HasSuffix(catalog, []byte("\n")) {
		t.Error("catalog.jsonl does not end with a newline")
	}
	lines := strings.Split(strings.TrimSuffix(string(catalog), "\n"), "\n")
	if len(lines) != 81 || len(rows) != 81 {
		t.Fatalf("catalog.jsonl has %d lines and classes.csv %d rows, want 81", len(lines), len(rows))
	}
	ids := map[string]int{}
	for i, line := range lines {
		row := rows[i]
		fail := func(format string, args ...any) {
			t.Helper()
			t.Errorf("line %d (%s): "+format, append([]any{i + 1, row[0]}, args...)...)
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &raw); err != nil {
			fail("not valid JSON: %v", err)
			continue
		}
		keys := slices.Sorted(maps.Keys(raw))
		if !slices.Equal(keys, allowedKeys) {
			fail("keys %v, want exactly %v", keys, allowedKeys)
		}
		var p struct {
			ID, Title, Description, Brand, Currency string
			Category, Images                        []string
			Price                                   float64
			Attributes                              map[string]any
		}
		dec := json.NewDecoder(strings.NewReader(line))
		dec.UseNumber()
		if err := dec.Decode(&p); err != nil {
			fail("decode: %v", err)
			continue
		}

		fineID, _ := strconv.Atoi(row[1])
		coarseID, _ := strconv.Atoi(row[3])
		if want := "grocery-" + twoDigits(fineID) + "-" + strings.ToLower(row[0]); p.ID != want || !idRE.MatchString(p.ID) {
			fail("id %q, want %q", p.ID, want)
		}
		if prev, dup := ids[p.ID]; dup {
			fail("id %q repeats line %d", p.ID, prev)
		}
		ids[p.ID] = i + 1

		for name, s := range map[string]string{"title": p.Title, "description": p.Description} {
			if s == "" || s != collapse(s) || !utf8.ValidString(s) || strings.ContainsRune(s, '\ufffd') || strings.ContainsRune(s, '\ufeff') {
				fail("%s %q is empty, not trimmed and collapsed, or not clean UTF-8", name, s)
			}
		}
		if p.Brand != "" || p.Currency != "SEK" {
			fail("brand %q currency %q, want \"\" and SEK", p.Brand, p.Currency)
		}

		if len(p.Category) != 3 || !topFolders[p.Category[0]] || p.Category[1] == "" ||
			p.Category[2] != strings.ReplaceAll(row[0], "-", " ") {
			fail("category %q, want [Fruit|Vegetables|Packages, coarse, %q]", p.Category, strings.ReplaceAll(row[0], "-", " "))
		}
		if !strings.Contains(row[4], "/"+p.Category[0]+"/") {
			fail("category root %q is not the image's top folder in %q", p.Category[0], row[4])
		}

		cents := math.Round(p.Price * 100)
		if p.Price < 9.90 || p.Price > 59.90 || int(cents)%100 != 90 || math.Abs(p.Price*100-cents) > 1e-6 {
			fail("price %v is not 9.90..59.90 ending in .90", p.Price)
		}
		if p.Price != priceFor(p.ID) {
			fail("price %v is not priceFor(id) = %v", p.Price, priceFor(p.ID))
		}

		for k, v := range p.Attributes {
			if !allowedAttr[k] {
				fail("unexpected attribute %q", k)
			}
			if s, ok := v.(string); (k == "origin" || k == "size") && (!ok || s == "" || s != collapse(s)) {
				fail("attribute %s = %#v, want a trimmed non-empty string (or omitted)", k, v)
			}
		}
		for k, want := range map[string]int{"fine_class_id": fineID, "coarse_class_id": coarseID} {
			n, ok := p.Attributes[k].(json.Number)
			if got, err := n.Int64(); !ok || err != nil || got != int64(want) || strings.Contains(n.String(), ".") {
				fail("attribute %s = %#v, want the integer %d", k, p.Attributes[k], want)
			}
		}

		if len(p.Images) != 1 || p.Images[0] != "images/"+row[0]+".jpg" {
			fail("images %q, want [images/%s.jpg]", p.Images, row[0])
			continue
		}
		got, err := os.ReadFile(filepath.Join(out1, filepath.FromSlash(p.Images[0])))
		if err != nil {
			fail("image: %v", err)
			continue
		}
		if !bytes.Equal(got, readFile(t, filepath.Join(src, filepath.FromSlash(strings.TrimPrefix(row[4], "/"))))) {
			fail("%s is not a byte-identical copy of %s", p.Images[0], row[4])
		}
	}

	// The catalog is accepted, row for row, by Vitrine's own ingest reader.
	r, err := ingest.NewReader(bytes.NewReader(catalog), ingest.JSONL, out1)
	if err != nil {
		t.Fatal(err)
	}
	accepted := 0
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Errorf("ingest rejects the catalog: %v", err)
			continue
		}
		if len(row.Product.Media) != 1 {
			t.Errorf("ingest: %s has %d media, want 1", row.Product.ID, len(row.Product.Media))
		}
		accepted++
	}
	if accepted != 81 {
		t.Errorf("ingest accepted %d rows, want 81", accepted)
	}
}

func twoDigits(n int) string {
	s := strconv.Itoa(n)
	if len(s) < 2 {
		s = "0" + s
	}
	return s
}

// TestCommittedOutputIsCurrent checks that demo/grocery holds exactly what
// the generator produces now; regenerate with the command in README.md.
func TestCommittedOutputIsCurrent(t *testing.T) {
	src := datasetDir(t)
	fresh := t.TempDir()
	if _, err := generate(src, fresh); err != nil {
		t.Fatal(err)
	}
	committed := ".." // demo/grocery
	want := listFiles(t, fresh)
	var got []string
	for _, f := range listFiles(t, committed) {
		if !strings.HasPrefix(f, "gen/") {
			got = append(got, f)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("demo/grocery files differ from the generator's output; regenerate with\n"+
			"  go run ./demo/grocery/gen -src ../shared/data/grocery -out demo/grocery\nhave %v\nwant %v", got, want)
	}
	for _, f := range want {
		if !bytes.Equal(readFile(t, filepath.Join(committed, f)), readFile(t, filepath.Join(fresh, f))) {
			t.Errorf("demo/grocery/%s is stale; regenerate with\n  go run ./demo/grocery/gen -src ../shared/data/grocery -out demo/grocery", f)
		}
	}
}

func TestParseInformation(t *testing.T) {
	in := "\ufeffTitle: \u00c4pple  Juice \r\n" +
		"Manufacturer and volume: BRAVO\u00a0,\u00a02l \r\n" +
		"Description: First line\r\n   continues here \r\n" +
		"Nutrition values per 100 gram: \r\n   energi ca 180 kilojoule \r\n" +
		"URL: https://example.com/a:b\r\n" +
		"Title: second title is ignored\r\n"
	got := parseInformation([]byte(in))
	want := map[string]string{
		"Title":                         "\u00c4pple Juice",
		"Manufacturer and volume":       "BRAVO , 2l",
		"Description":                   "First line continues here",
		"Nutrition values per 100 gram": "energi ca 180 kilojoule",
		"URL":                           "https://example.com/a:b",
	}
	if len(got) != len(want) {
		t.Errorf("got %d fields %q, want %d", len(got), got, len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	// Latin-1 bytes (not valid UTF-8) are read as Latin-1, not dropped.
	if got := parseInformation([]byte("Title: Mj\xf6lk 3%\n")); got["Title"] != "Mjölk 3%" {
		t.Errorf("Latin-1 title = %q, want %q", got["Title"], "Mjölk 3%")
	}
	before, after, ok := splitLast("The Netherlands,\u00a0ca 200g ")
	if !ok || before != "The Netherlands" || after != "ca 200g" {
		t.Errorf("splitLast = %q, %q, %v", before, after, ok)
	}
}

// TestSyntheticDataset covers the fallbacks the real data does not all hit:
// a missing Information file (title from the class name), a missing
// description file (description from Information), CRLF and multi-line text,
// a "Country" without volume, and a path that tries to leave the dataset.
func TestSyntheticDataset(t *testing.T) {
	src := t.TempDir()
	write := func(rel, data string) {
		t.Helper()
		p := filepath.Join(src, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const d = "/iconic-images-and-descriptions"
	write("LICENSE", "MIT\n")
	write("classes.csv", "Class Name (str),Class ID (int),Coarse Class Name (str),Coarse Class ID (int),Iconic Image Path (str),Product Description Path (str)\r\n"+
		"Red-Beet,7,Red-Beet,3,"+d+"/Vegetables/Red-Beet/Red-Beet_Iconic.jpg,"+d+"/Vegetables/Red-Beet/Red-Beet_Description.txt\r\n"+
		"Oat-Milk,12,Oat-Milk,4,"+d+"/Packages/Oat-Milk/Oat-Milk_Iconic.jpg,"+d+"/Packages/Oat-Milk/Oat-Milk_Description.txt\r\n")
	write(d+"/Vegetables/Red-Beet/Red-Beet_Iconic.jpg", "\xff\xd8beet")
	write(d+"/Vegetables/Red-Beet/Red-Beet_Description.txt", "Earthy and\r\n  sweet.\u00a0 \r\n\r\n")
	write(d+"/Packages/Oat-Milk/Oat-Milk_Iconic.jpg", "\xff\xd8oat")
	write(d+"/Packages/Oat-Milk/Oat-Milk-Information.txt", "Title: Havredryck \r\nCountry: Sverige \r\nDescription: An oat\r\n drink.\r\n")

	out := t.TempDir()
	if err := os.MkdirAll(filepath.Join(out, "images"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "images", "Stale.jpg"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := generate(src, out); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, "images", "Stale.jpg")); err == nil {
		t.Error("a stale image was not removed")
	}
	got := strings.Split(strings.TrimSpace(string(readFile(t, filepath.Join(out, "catalog.jsonl")))), "\n")
	want := []string{
		`{"id":"grocery-07-red-beet","title":"Red Beet","description":"Earthy and sweet.","brand":"","category":["Vegetables","Red Beet","Red Beet"],"price":` +
			strconv.FormatFloat(priceFor("grocery-07-red-beet"), 'f', -1, 64) +
			`,"currency":"SEK","attributes":{"fine_class_id":7,"coarse_class_id":3},"images":["images/Red-Beet.jpg"]}`,
		`{"id":"grocery-12-oat-milk","title":"Havredryck","description":"An oat drink.","brand":"","category":["Packages","Oat Milk","Oat Milk"],"price":` +
			strconv.FormatFloat(priceFor("grocery-12-oat-milk"), 'f', -1, 64) +
			`,"currency":"SEK","attributes":{"origin":"Sweden","fine_class_id":12,"coarse_class_id":4},"images":["images/Oat-Milk.jpg"]}`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("catalog.jsonl:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	write("classes.csv", "Class Name (str),Class ID (int),Coarse Class Name (str),Coarse Class ID (int),Iconic Image Path (str),Product Description Path (str)\n"+
		"Evil,0,Evil,0,/../../etc/passwd.jpg,/x.txt\n")
	if _, err := generate(src, t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a path inside the dataset") {
		t.Errorf("a path leaving the dataset gave %v, want an error", err)
	}
}
