package ocr

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// devPhotos reads the Grocery Store Dataset's development photos listed in
// <assets>/data/grocery/photos_dev.txt (VITRINE_ASSETS, else ../../shared).
func devPhotos(b *testing.B, n int) [][]byte {
	b.Helper()
	root := os.Getenv("VITRINE_ASSETS")
	if root == "" {
		root = filepath.Join("..", "..", "shared")
	}
	dir := filepath.Join(root, "data", "grocery")
	f, err := os.Open(filepath.Join(dir, "photos_dev.txt"))
	if err != nil {
		b.Fatalf("grocery photos (set VITRINE_ASSETS to the shared directory): %v", err)
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	for sc.Scan() && len(out) < n {
		rel, _, _ := strings.Cut(sc.Text(), ",")
		data, err := os.ReadFile(filepath.Join(dir, strings.TrimSpace(rel)))
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, data)
	}
	if len(out) == 0 {
		b.Fatal("no photos listed")
	}
	return out
}

// BenchmarkReadDevPhotos reads the 148 development shop photos (fruit,
// vegetables and packages) one at a time with one engine, as one photo
// search does, and reports the median and 95th percentile per photo and
// the share the cheap first look skipped. Search by photo's budget with
// OCR is 300 ms at the median (issue: POST /v1/search/image):
//
//	go test ./ocr -run '^$' -bench ReadDevPhotos -benchtime 1x
func BenchmarkReadDevPhotos(b *testing.B) {
	photos := devPhotos(b, 148)
	for _, tc := range []struct {
		name string
		skip bool
	}{{"skip", true}, {"always", false}} {
		b.Run(tc.name, func(b *testing.B) {
			r, err := New(WithEngines(1), WithSkip(tc.skip))
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			var ms []float64
			skipped := 0
			for b.Loop() {
				ms, skipped = ms[:0], 0
				for _, p := range photos {
					start := time.Now()
					got, err := r.Read(b.Context(), p)
					if err != nil {
						b.Fatal(err)
					}
					ms = append(ms, float64(time.Since(start).Microseconds())/1000)
					if got.Skipped {
						skipped++
					}
				}
			}
			slices.Sort(ms)
			b.ReportMetric(ms[len(ms)/2], "p50-ms")
			b.ReportMetric(ms[len(ms)*95/100], "p95-ms")
			b.ReportMetric(float64(skipped)/float64(len(photos)), "skipped")
			b.ReportMetric(0, "ns/op")
		})
	}
}
