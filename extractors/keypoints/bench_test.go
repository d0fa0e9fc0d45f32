package keypoints_test

import (
	"testing"

	"github.com/vitrinehq/vitrine/extractors/keypoints"
	"github.com/vitrinehq/vitrine/internal/testenv"
)

// BenchmarkVerifyDevPhotos extracts the features of each of the first 20
// development shop photos and verifies them against 10 packshots, as
// search by photo does for its top 10 products (extract-ms and
// verify-ms per photo; the second is the 10 verifications').
func BenchmarkVerifyDevPhotos(b *testing.B) {
	photos := testenv.DevPhotos(b, 20)
	ex, v := keypoints.NewExtractor(), keypoints.NewVerifier()
	var packs []keypoints.Features
	for _, name := range []string{"God-Morgon-Apple-Juice", "Bravo-Apple-Juice", "Arla-Standard-Milk", "Arla-Medium-Fat-Milk", "Oatly-Oat-Milk",
		"Alpro-Fresh-Soy-Milk", "Yoggi-Vanilla-Yoghurt", "Valio-Vanilla-Yoghurt", "Tropicana-Apple-Juice", "Arla-Sour-Milk"} {
		packs = append(packs, extractB(b, ex, catalogImageB(b, name)))
	}
	var ext, ver float64
	n := 0
	for b.Loop() {
		for _, p := range photos {
			start := nowMs()
			q, err := ex.Extract(p)
			if err != nil {
				b.Fatal(err)
			}
			mid := nowMs()
			for _, t := range packs {
				if _, err := v.Inliers(q, t); err != nil {
					b.Fatal(err)
				}
			}
			ext += mid - start
			ver += nowMs() - mid
			n++
		}
	}
	b.ReportMetric(ext/float64(n), "extract-ms")
	b.ReportMetric(ver/float64(n), "verify-ms")
}
