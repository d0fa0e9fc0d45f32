package throughput

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vitrinehq/vitrine/internal/synth"
)

// ProductTexts are n synthetic catalog texts (package synth, seed 1) as the
// indexer builds them from a product: title, brand, category path,
// description (indexer.TextOf).
func ProductTexts(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		p := synth.Gen(1, i, synth.Options{})
		out[i] = fmt.Appendf(nil, "%s. %s. %s. %s", p.Title, p.Brand, strings.Join(p.Category, " "), p.Description)
	}
	return out
}

// ReadFiles reads every path.
func ReadFiles(paths []string) ([][]byte, error) {
	out := make([][]byte, len(paths))
	for i, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

// Files lists the files in dir whose extension is one of exts
// (case-insensitive), sorted.
func Files(dir string, exts ...string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() && slices.Contains(exts, strings.ToLower(filepath.Ext(e.Name()))) {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out, nil
}

// PhotoList reads the photo paths of a labelled photos file ("path, fine
// class id, coarse class id" a line, the Grocery Store Dataset's
// photos_dev.txt), relative paths resolved against the file's directory.
func PhotoList(file string) ([]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		p := strings.TrimSpace(strings.SplitN(line, ",", 2)[0])
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(file), p)
		}
		out = append(out, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no photos listed", file)
	}
	return out, nil
}

// Cycle returns n items taken from pool in turn.
func Cycle(pool [][]byte, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = pool[i%len(pool)]
	}
	return out
}

// Catalog is products [from, from+n) of the synthetic catalog o as JSON
// Lines, the format `vitrine ingest` reads (image paths as given in
// o.Images: absolute paths need no catalog directory).
func Catalog(o synth.Options, from, n int) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for i := from; i < from+n; i++ {
		// Encoding a plain struct of strings, numbers and a bool map
		// cannot fail.
		_ = enc.Encode(synth.Gen(o.Seed, i, o))
	}
	return buf.Bytes()
}
