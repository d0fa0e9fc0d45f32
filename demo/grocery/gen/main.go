// Command gen builds Vitrine's demo grocery catalog from the Grocery Store
// Dataset (Klasson, Zhang, Kjellström, "A Hierarchical Grocery Store Image
// Dataset with Visual and Semantic Labels", WACV 2019; MIT licence).
//
// Usage, from the repository root:
//
//	go run ./demo/grocery/gen -src ../shared/data/grocery -out demo/grocery
//
// It reads the dataset's classes.csv (81 products, "fine classes", in 43
// coarse classes) and, for each product, the iconic catalog photo, the
// *_Description.txt file and the *_Information.txt file, and writes under -out:
//
//	catalog.jsonl          one product per line, in classes.csv order
//	images/<Class>.jpg     byte-identical copies of the iconic photos
//	classes.csv            a copy of the source classes.csv
//	LICENSE                a copy of the dataset's MIT licence
//	README.md              attribution, caveats, and how to regenerate
//
// The output depends only on the source files: no clocks, no map order, no
// randomness. Running it twice gives byte-identical files, and stale *.jpg
// files in <out>/images that the catalog no longer names are removed.
//
// # Field mapping
//
// Each catalog.jsonl line holds exactly the keys id, title, description,
// brand, category, price, currency, attributes and images (the ingest reader
// rejects unknown keys):
//
//   - id: "grocery-<ClassID as 2 digits>-<class name lowercased>", e.g.
//     "grocery-00-golden-delicious".
//   - title: the Information file's "Title:", whitespace-collapsed; if absent,
//     the class name with dashes as spaces.
//   - description: the *_Description.txt text (the English product text),
//     whitespace-collapsed; if that is empty or missing, the Information
//     file's "Description:".
//   - brand: always "" (the dataset has no reliable brand field).
//   - category: [top folder (Fruit, Vegetables or Packages), coarse class
//     name, fine class name], dashes in class names shown as spaces.
//   - price: a made-up but stable price in SEK, 9.90 to 59.90 ending in .90,
//     chosen by an FNV-1a hash of the id (see [priceFor]).
//   - currency: "SEK".
//   - attributes: origin (country) and size (volume or weight) when the
//     Information file gives them, plus fine_class_id and coarse_class_id
//     (integers, the dataset's labels, used to score search-by-photo).
//   - images: ["images/<Class>.jpg"], relative to catalog.jsonl.
//
// The Information files come in three shapes: loose produce has
// "Country and volume: Italy, ca 180g" or just "Country: Peru"; packaged goods
// have "Manufacturer and volume: ARLA KO , 1l" and "Manufacturing country:
// Sweden". origin is taken from the first of "Country and volume", "Country"
// and "Manufacturing country" that has one ("Sverige" is written "Sweden");
// size from the volume part of "Country and volume" or "Manufacturer and
// volume". Files are read as UTF-8 with a byte-order mark, Windows line
// endings, trailing and non-breaking spaces tolerated; indented lines continue
// the field above (the nutrition tables do this).
package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Demo price range in whole kronor; every price ends in .90 (9.90 to 59.90 SEK).
const (
	minPriceKronor = 9
	maxPriceKronor = 59
)

func main() {
	src := flag.String("src", "../shared/data/grocery", "Grocery Store Dataset directory (holds classes.csv and LICENSE)")
	out := flag.String("out", "demo/grocery", "output directory")
	flag.Parse()
	if flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: gen [-src DIR] [-out DIR]")
		os.Exit(2)
	}
	n, err := generate(*src, *out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	fmt.Printf("wrote %d products to %s\n", n, filepath.Join(*out, "catalog.jsonl"))
}

// product is one catalog.jsonl line. Field order is the output key order.
type product struct {
	ID          string     `json:"id"`
	Title       string     `json:"title"`
	Description string     `json:"description"`
	Brand       string     `json:"brand"`
	Category    []string   `json:"category"`
	Price       float64    `json:"price"`
	Currency    string     `json:"currency"`
	Attributes  attributes `json:"attributes"`
	Images      []string   `json:"images"`
}

type attributes struct {
	Origin        string `json:"origin,omitempty"`
	Size          string `json:"size,omitempty"`
	FineClassID   int    `json:"fine_class_id"`
	CoarseClassID int    `json:"coarse_class_id"`
}

// class is one data row of classes.csv.
type class struct {
	Name      string // fine class name, e.g. "Golden-Delicious"
	ID        int
	Coarse    string // coarse class name, e.g. "Apple"
	CoarseID  int
	ImagePath string // slash path relative to the dataset root
	DescPath  string // slash path relative to the dataset root
	Line      int    // line in classes.csv, for messages
}

var classNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*$`)

// generate writes the demo catalog for the dataset at src into out and
// returns the number of products.
func generate(src, out string) (int, error) {
	csvBytes, err := os.ReadFile(filepath.Join(src, "classes.csv"))
	if err != nil {
		return 0, fmt.Errorf("reading the dataset: %w (pass -src, the Grocery Store Dataset directory)", err)
	}
	licence, err := os.ReadFile(filepath.Join(src, "LICENSE"))
	if err != nil {
		return 0, fmt.Errorf("reading the dataset licence: %w", err)
	}
	classes, err := parseClasses(csvBytes)
	if err != nil {
		return 0, fmt.Errorf("classes.csv: %w", err)
	}

	var catalog bytes.Buffer
	enc := json.NewEncoder(&catalog)
	enc.SetEscapeHTML(false) // keep "&" in "Mild & Creamy" readable
	images := map[string][]byte{}
	for _, c := range classes {
		p, img, err := buildProduct(src, c)
		if err != nil {
			return 0, fmt.Errorf("classes.csv line %d (%s): %w", c.Line, c.Name, err)
		}
		if err := enc.Encode(p); err != nil {
			return 0, err
		}
		images[p.Images[0]] = img
	}

	if err := os.MkdirAll(filepath.Join(out, "images"), 0o755); err != nil {
		return 0, err
	}
	files := []struct {
		name string
		data []byte
	}{
		{"catalog.jsonl", catalog.Bytes()},
		{"classes.csv", csvBytes},
		{"LICENSE", licence},
		{"README.md", []byte(readme)},
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(out, f.name), f.data, 0o644); err != nil {
			return 0, err
		}
	}
	for _, rel := range slices.Sorted(maps.Keys(images)) {
		if err := os.WriteFile(filepath.Join(out, filepath.FromSlash(rel)), images[rel], 0o644); err != nil {
			return 0, err
		}
	}
	// Remove photos of products that are no longer in the catalog.
	entries, err := os.ReadDir(filepath.Join(out, "images"))
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		if rel := "images/" + e.Name(); e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".jpg") && images[rel] == nil {
			if err := os.Remove(filepath.Join(out, "images", e.Name())); err != nil {
				return 0, err
			}
		}
	}
	return len(classes), nil
}

// parseClasses reads classes.csv: a header, then
// name, id, coarse name, coarse id, iconic image path, description path.
func parseClasses(b []byte) ([]class, error) {
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\ufeff"))))
	r.FieldsPerRecord = 6
	r.TrimLeadingSpace = true
	rows, err := r.ReadAll()
	if err != nil {
		return nil, err
	}
	if len(rows) < 2 {
		return nil, errors.New("no classes")
	}
	if h := rows[0]; !strings.HasPrefix(h[0], "Class Name") || !strings.HasPrefix(h[1], "Class ID") {
		return nil, fmt.Errorf("unexpected header %q", h)
	}
	var out []class
	seenName, seenID := map[string]bool{}, map[int]bool{}
	for i, row := range rows[1:] {
		line := i + 2
		for j := range row {
			row[j] = strings.TrimSpace(row[j])
		}
		c := class{Name: row[0], Coarse: row[2], Line: line}
		if !classNameRE.MatchString(c.Name) {
			return nil, fmt.Errorf("line %d: class name %q is not a safe file name", line, c.Name)
		}
		if c.Coarse == "" {
			return nil, fmt.Errorf("line %d: empty coarse class name", line)
		}
		if c.ID, err = strconv.Atoi(row[1]); err != nil || c.ID < 0 {
			return nil, fmt.Errorf("line %d: bad class id %q", line, row[1])
		}
		if c.CoarseID, err = strconv.Atoi(row[3]); err != nil || c.CoarseID < 0 {
			return nil, fmt.Errorf("line %d: bad coarse class id %q", line, row[3])
		}
		if c.ImagePath, err = datasetPath(row[4]); err != nil {
			return nil, fmt.Errorf("line %d: image path: %w", line, err)
		}
		if c.DescPath, err = datasetPath(row[5]); err != nil {
			return nil, fmt.Errorf("line %d: description path: %w", line, err)
		}
		if seenName[strings.ToLower(c.Name)] || seenID[c.ID] {
			return nil, fmt.Errorf("line %d: duplicate class %q / id %d", line, c.Name, c.ID)
		}
		seenName[strings.ToLower(c.Name)], seenID[c.ID] = true, true
		out = append(out, c)
	}
	return out, nil
}

// datasetPath turns a classes.csv path ("/iconic-images-and-descriptions/...")
// into a clean slash path inside the dataset, refusing ones that leave it.
func datasetPath(p string) (string, error) {
	p = strings.TrimLeft(strings.ReplaceAll(p, `\`, "/"), "/")
	if !fs.ValidPath(p) || p == "." {
		return "", fmt.Errorf("%q is not a path inside the dataset", p)
	}
	return p, nil
}

// buildProduct reads one product's files and returns its catalog line and
// the bytes of its photo.
func buildProduct(src string, c class) (product, []byte, error) {
	// ImagePath is iconic-images-and-descriptions/<Top>/<Coarse>/.../<Name>_Iconic.jpg.
	parts := strings.Split(c.ImagePath, "/")
	if len(parts) < 3 {
		return product{}, nil, fmt.Errorf("image path %q has no top-level folder", c.ImagePath)
	}
	top := parts[1]
	if !strings.EqualFold(path.Ext(c.ImagePath), ".jpg") {
		return product{}, nil, fmt.Errorf("image %q is not a .jpg", c.ImagePath)
	}
	img, err := os.ReadFile(filepath.Join(src, filepath.FromSlash(c.ImagePath)))
	if err != nil {
		return product{}, nil, err
	}

	desc := ""
	if b, err := os.ReadFile(filepath.Join(src, filepath.FromSlash(c.DescPath))); err == nil {
		desc = cleanText(b)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return product{}, nil, err
	}
	info, err := readInformation(filepath.Join(src, filepath.FromSlash(path.Dir(c.DescPath))), c.Name)
	if err != nil {
		return product{}, nil, err
	}
	if desc == "" {
		desc = info["Description"]
	}

	id := fmt.Sprintf("grocery-%02d-%s", c.ID, strings.ToLower(c.Name))
	title := info["Title"]
	if title == "" {
		title = spaced(c.Name)
	}
	attrs := attributes{FineClassID: c.ID, CoarseClassID: c.CoarseID}
	if country, volume, ok := splitLast(info["Country and volume"]); ok {
		attrs.Origin, attrs.Size = country, volume
	} else if v := info["Country and volume"]; v != "" {
		if strings.ContainsAny(v, "0123456789") {
			attrs.Size = v
		} else {
			attrs.Origin = v
		}
	}
	if attrs.Origin == "" {
		attrs.Origin = info["Country"]
	}
	if attrs.Origin == "" {
		attrs.Origin = info["Manufacturing country"]
	}
	if attrs.Origin == "Sverige" {
		attrs.Origin = "Sweden"
	}
	if attrs.Size == "" {
		if _, volume, ok := splitLast(info["Manufacturer and volume"]); ok {
			attrs.Size = volume
		}
	}
	return product{
		ID:          id,
		Title:       title,
		Description: desc,
		Brand:       "",
		Category:    []string{top, spaced(c.Coarse), spaced(c.Name)},
		Price:       priceFor(id),
		Currency:    "SEK",
		Attributes:  attrs,
		Images:      []string{"images/" + c.Name + ".jpg"},
	}, img, nil
}

// readInformation parses the product's "<Name>_Information.txt" in dir (or
// the one file there whose name ends in "Information.txt"; Cabbage's is
// "Cabbage-Information.txt"). A missing file gives an empty map.
func readInformation(dir, name string) (map[string]string, error) {
	file := filepath.Join(dir, name+"_Information.txt")
	if _, err := os.Stat(file); err != nil {
		matches, _ := filepath.Glob(filepath.Join(dir, "*Information.txt"))
		switch len(matches) {
		case 0:
			return map[string]string{}, nil
		case 1:
			file = matches[0]
		default:
			return nil, fmt.Errorf("no %s_Information.txt and several *Information.txt in %s", name, dir)
		}
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return parseInformation(b), nil
}

var fieldRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9 ]*?)\s*:(.*)$`)

// parseInformation reads "Key: value" lines. Lines that start with
// whitespace, or do not look like "Key:", continue the previous field.
// Values are whitespace-collapsed; the first occurrence of a key wins.
func parseInformation(b []byte) map[string]string {
	text := strings.TrimPrefix(toUTF8(b), "\ufeff")
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	raw := map[string]*strings.Builder{}
	var order []string
	var cur *strings.Builder // nil before the first field and inside a repeated one
	for line := range strings.SplitSeq(text, "\n") {
		if m := fieldRE.FindStringSubmatch(line); m != nil && !startsWithSpace(line) {
			key := collapse(m[1])
			if _, dup := raw[key]; dup {
				cur = nil
				continue
			}
			cur = &strings.Builder{}
			raw[key] = cur
			order = append(order, key)
			cur.WriteString(m[2])
			continue
		}
		if cur != nil {
			cur.WriteString("\n")
			cur.WriteString(line)
		}
	}
	out := make(map[string]string, len(order))
	for _, k := range order {
		out[k] = collapse(raw[k].String())
	}
	return out
}

func startsWithSpace(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return s != "" && unicode.IsSpace(r)
}

// splitLast splits "Italy, ca 180g" or "ARLA KO , 1l" at the last comma into
// two trimmed, non-empty parts.
func splitLast(s string) (before, after string, ok bool) {
	i := strings.LastIndex(s, ",")
	if i < 0 {
		return "", "", false
	}
	before, after = collapse(s[:i]), collapse(s[i+1:])
	return before, after, before != "" && after != ""
}

// cleanText decodes a text file and collapses its whitespace.
func cleanText(b []byte) string {
	return collapse(strings.TrimPrefix(toUTF8(b), "\ufeff"))
}

// toUTF8 returns b as a string, reading it as Latin-1 (Windows-1252's
// printable subset) if it is not valid UTF-8.
func toUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	rs := make([]rune, len(b))
	for i, c := range b {
		rs[i] = rune(c)
	}
	return string(rs)
}

// collapse trims s and turns every run of whitespace (including non-breaking
// spaces and line breaks) into one space.
func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

// spaced shows a dataset class name as words: "Passion-Fruit" -> "Passion Fruit".
func spaced(name string) string { return strings.ReplaceAll(name, "-", " ") }

// priceFor picks a demo price in SEK from the id: minPriceKronor.90 to
// maxPriceKronor.90 in whole kronor, by FNV-1a (32-bit) of the id. Prices are
// made up; they only give the price filter and sort something to work on.
func priceFor(id string) float64 {
	h := fnv.New32a()
	h.Write([]byte(id))
	kronor := minPriceKronor + int(h.Sum32()%uint32(maxPriceKronor-minPriceKronor+1))
	return float64(kronor*100+90) / 100
}

const readme = `# Demo catalog: Grocery Store Dataset

81 grocery products (fruit, vegetables and packaged dairy and juice) with one catalog photo each,
for Vitrine's demo and for evaluating search by photo. Generated; do not edit by hand.

## Source and attribution

Built from the **Grocery Store Dataset**:

> Marcus Klasson, Cheng Zhang, Hedvig Kjellström.
> "A Hierarchical Grocery Store Image Dataset with Visual and Semantic Labels".
> IEEE Winter Conference on Applications of Computer Vision (WACV), 2019.
> https://github.com/marcusklasson/GroceryStoreDataset

The dataset is distributed under the MIT licence; a copy is in [LICENSE](LICENSE)
(Copyright (c) 2019 Marcus Klasson).

**Test and demo data only.** The product photos and texts in the dataset were taken from a Swedish
grocery retailer's website. Use them to test and demonstrate Vitrine; do not publish them as
content, ship them in a product, or present the made-up prices as real.

## Files

- ` + "`catalog.jsonl`" + `: one product per line in ` + "`classes.csv`" + ` order, in Vitrine's catalog schema:
  ` + "`id`" + ` (` + "`grocery-<class id, 2 digits>-<class name lowercased>`" + `), ` + "`title`" + ` (from the product's
  Information file), ` + "`description`" + ` (its English description), ` + "`brand`" + ` (empty), ` + "`category`" + `
  (` + "`[Fruit|Vegetables|Packages, coarse class, fine class]`" + `), ` + "`price`" + ` (a made-up SEK price,
  9.90 to 59.90, derived from a hash of the id), ` + "`currency`" + ` (SEK), ` + "`attributes`" + ` (` + "`origin`" + ` and
  ` + "`size`" + ` when known, ` + "`fine_class_id`" + `, ` + "`coarse_class_id`" + `) and ` + "`images`" + `.
- ` + "`images/<Class-Name>.jpg`" + `: the dataset's iconic 198x198 catalog photo of each product, unchanged.
- ` + "`classes.csv`" + `: the dataset's class list, unchanged. Evaluation uses it to map the fine class ids
  of labelled photos to product ids (` + "`fine_class_id`" + ` is also in each product's attributes).
- ` + "`LICENSE`" + `: the dataset's MIT licence.

The dataset's natural shop photos (` + "`photos_dev.txt`" + ` and the files it lists) are not copied; evaluation
reads them from the shared data directory (` + "`../shared/data/grocery`" + ` or ` + "`$VITRINE_ASSETS/data/grocery`" + `).

## Regenerating

From the repository root:

    go run ./demo/grocery/gen -src ../shared/data/grocery -out demo/grocery

The output is deterministic (same input, byte-identical files). ` + "`go test ./demo/grocery/gen`" + ` checks the
generator and that the files here are what it currently produces.
`
