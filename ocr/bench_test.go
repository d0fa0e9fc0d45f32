package ocr

import (
	"image"
	"slices"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/internal/testenv"
)

// BenchmarkReadDevPhotos reads the 148 development shop photos (fruit,
// vegetables and packages) one at a time with one engine, as one photo
// search does, and reports the median and 95th percentile per photo, the
// share skipped without running Tesseract and the words kept per photo,
// for each way of finding where to read: lines (the default: the text-line
// detector, then Tesseract on those lines only; beside it with
// Tesseract's inverted retry on, with English only and with English
// before Swedish), first-look (the previous
// default: a Tesseract pass at the photo's own size, the full read only
// when it found a word) and always (the full read of every photo), the
// last two with Tesseract's inverted retry on as they had it. Search by
// photo's budget with OCR is 300 ms at the median (issue: POST
// /v1/search/image):
//
//	go test ./ocr -run '^$' -bench ReadDevPhotos -benchtime 1x
//	go test ./ocr -run '^$' -bench 'ReadDevPhotos/lines$' -benchtime 1x
//
// Tesseract's OpenMP threads spin while they wait; on a machine with few,
// busy cores run it (and vitrine serve) with OMP_THREAD_LIMIT=1.
func BenchmarkReadDevPhotos(b *testing.B) {
	photos := testenv.DevPhotos(b, 148)
	for _, tc := range []struct {
		name string
		opts []Option
	}{
		{"lines", nil},
		{"lines-invert", []Option{WithInvert(true)}},
		{"lines-eng", []Option{WithLanguages("eng")}},
		{"lines-eng-swe", []Option{WithLanguages("eng", "swe")}},
		{"first-look", []Option{WithLook(LookTesseract), WithInvert(true)}},
		{"always", []Option{WithLook(LookNone), WithInvert(true)}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			r, err := New(append([]Option{WithEngines(1)}, tc.opts...)...)
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			var ms []float64
			skipped, words := 0, 0
			for b.Loop() {
				ms, skipped, words = ms[:0], 0, 0
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
					words += len(got.Words)
				}
			}
			slices.Sort(ms)
			b.ReportMetric(ms[len(ms)/2], "p50-ms")
			b.ReportMetric(ms[len(ms)*95/100], "p95-ms")
			b.ReportMetric(float64(skipped)/float64(len(photos)), "skipped")
			b.ReportMetric(float64(words)/float64(len(photos)), "words/photo")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkDetectDevPhotos runs the text-line detector alone on the 148
// development photos (decoded beforehand) and reports its time per photo
// and the share of photos where it finds no line:
//
//	go test ./ocr -run '^$' -bench DetectDevPhotos
func BenchmarkDetectDevPhotos(b *testing.B) {
	r := &Reader{o: options{maxPixels: 50_000_000}}
	var gs []*image.Gray
	for _, p := range testenv.DevPhotos(b, 148) {
		g, err := r.decode(p)
		if err != nil {
			b.Fatal(err)
		}
		gs = append(gs, g)
	}
	none := 0
	for b.Loop() {
		none = 0
		for _, g := range gs {
			if len(detect(g, defaultDetect)) == 0 {
				none++
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N*len(gs)), "ms/photo")
	b.ReportMetric(float64(none)/float64(len(gs)), "no-lines")
}
