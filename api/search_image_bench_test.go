package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/api"
	"github.com/vitrinehq/vitrine/eval/photos"
	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/extractors/keypoints"
	"github.com/vitrinehq/vitrine/internal/apitest"
	"github.com/vitrinehq/vitrine/internal/testenv"
	"github.com/vitrinehq/vitrine/models"
	"github.com/vitrinehq/vitrine/ocr"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/serving"
)

// BenchmarkSearchImageDevPhotos posts each of the 148 development shop
// photos (<assets>/data/grocery/photos_dev.txt, VITRINE_ASSETS) to POST
// /v1/search/image as the storefront does (multipart upload), one at a
// time, through the real API on the ingested demo catalog, under each
// configuration of search by photo. Before each post the plain image
// encoder (mobilenetv2-int8, no augmentation) alone encodes the same photo
// (the bare baseline, interleaved so both see the same load): p50-ms and
// p95-ms are the posts', bare-p50-ms the baseline's, and x-bare the ratio
// of the p50s, the load-independent figure. The verify cases check the
// top 10 products geometrically against the catalog images' keypoints
// stored at ingest. Run OCR cases with OMP_THREAD_LIMIT=1 in the environment (see
// README): -run '^$' -bench SearchImageDevPhotos -benchtime 1x.
func BenchmarkSearchImageDevPhotos(b *testing.B) {
	photos := testenv.DevPhotos(b, 0)
	a := apitest.New(b)
	text, _ := a.Encoders.ByModality(models.Text)
	plain, _ := a.Encoders.ByModality(models.Image)
	centre := openBenchEncoder(b, "mobilenetv2-int8-centre")
	centreFlip := openBenchEncoder(b, "mobilenetv2-int8-centre-flip")
	crops := openBenchEncoder(b, "mobilenetv2-int8-crops-flip")
	reader, err := ocr.New(ocr.WithEngines(1))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = reader.Close() })
	vote := serving.PhotoConfig{VoteViews: 10, VotePower: 16} // the defaults
	ocrOn := vote
	ocrOn.OCRWeight = 0.3
	verify := vote
	verify.VerifyTop, verify.VerifyWeight, verify.VerifyMinInliers = 10, 0.02, 6
	learn := vote // the defaults once shoppers' photos are attached
	learn.Whiten, learn.WhitenShrinkage, learn.DiscriminantCover = true, 0.3, 0.9
	learnVerify := learn
	learnVerify.VerifyTop, learnVerify.VerifyWeight, learnVerify.VerifyMinInliers = 10, 0.02, 6
	cases := []struct {
		name  string
		enc   extractors.Encoder
		cfg   serving.PhotoConfig
		views bool // the 2,640 training photos attached as views
	}{
		{"plain/best-view", plain, serving.PhotoConfig{}, false},
		{"plain", plain, vote, false},
		{"plain/max-crop", plain, serving.PhotoConfig{VoteViews: 10, VotePower: 16, CropScale: 0.7}, false},
		{"centre", centre, vote, false},
		{"centre-flip", centreFlip, vote, false},
		{"crops-flip", crops, vote, false},
		{"plain/ocr", plain, ocrOn, false},
		{"centre/ocr", centre, ocrOn, false},
		{"centre-flip/ocr", centreFlip, ocrOn, false}, // the default model with OCR on
		{"plain/verify", plain, verify, false},
		{"centre-flip/verify", centreFlip, verify, false}, // the default model with geometric verification of the top 10 (image.verify_top 10)
		{"centre-flip/views", centreFlip, vote, true},
		{"centre-flip/views/whiten", centreFlip, learn, true},
		{"centre-flip/views/whiten/verify", centreFlip, learnVerify, true},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			post := photoServer(b, a, text, tc.enc, tc.cfg, reader, tc.views)
			post(photos[0]) // loads the in-memory index of views
			var posts, bare []float64
			for b.Loop() {
				for _, p := range photos {
					start := time.Now()
					if _, err := plain.Encode(b.Context(), p); err != nil {
						b.Fatal(err)
					}
					bare = append(bare, msSince(start))
					start = time.Now()
					post(p)
					posts = append(posts, msSince(start))
				}
			}
			slices.Sort(posts)
			slices.Sort(bare)
			b.ReportMetric(quantile(posts, 0.5), "p50-ms")
			b.ReportMetric(quantile(posts, 0.95), "p95-ms")
			b.ReportMetric(quantile(bare, 0.5), "bare-p50-ms")
			b.ReportMetric(quantile(posts, 0.5)/quantile(bare, 0.5), "x-bare")
		})
	}
}

func msSince(t time.Time) float64 { return float64(time.Since(t).Microseconds()) / 1000 }

// quantile of sorted values, nearest rank.
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

// photoServer serves the demo catalog with search by photo matching the
// views of enc in memory under cfg, reading text with reader when
// cfg.OCRWeight > 0, and returns a function posting one photo. An
// encoder other than the ingested one gets the catalog images attached as
// its views.
func photoServer(b *testing.B, a *apitest.Env, text, enc extractors.Encoder, cfg serving.PhotoConfig, reader serving.PhotoReader, views bool) func(photo []byte) {
	svc, err := serving.New(serving.DepsFrom(a.Store, text, enc), serving.WithImageViews(a.Store),
		serving.WithPhotoConfig(cfg), serving.WithPhotoReader(reader),
		serving.WithPhotoVerifier(keypoints.NewPhotoVerifier(keypoints.NewExtractor(), keypoints.NewVerifier()), a.Store))
	if err != nil {
		b.Fatal(err)
	}
	if plain, _ := a.Encoders.ByModality(models.Image); plain.Key() != enc.Key() {
		attachCatalogViews(b, a, svc)
	}
	if cfg.VerifyTop > 0 {
		storeCatalogKeypoints(b, a)
	}
	if views {
		attachTrainViews(b, a, svc)
	}
	acfg := api.DefaultConfig()
	acfg.Auth, acfg.RateLimit = api.AuthRequired, 0
	srv, err := api.New(acfg, api.Deps{Service: svc, Store: a.Store, Encoders: a.Encoders, Indexer: a.Indexer, Media: a.Media})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Close(context.Background()) })
	ts := httptest.NewServer(srv.Handler())
	b.Cleanup(ts.Close)
	_, key, err := a.Store.CreateAPIKey(b.Context(), "bench-"+enc.Key(), []records.Scope{records.ScopeRead})
	if err != nil {
		b.Fatal(err)
	}
	return func(photo []byte) {
		var body bytes.Buffer
		w := multipart.NewWriter(&body)
		part, _ := w.CreateFormFile("image", "photo.jpg")
		part.Write(photo)
		w.WriteField("k", "10")
		w.Close()
		req, _ := http.NewRequestWithContext(b.Context(), "POST", ts.URL+"/v1/search/image", &body)
		req.Header.Set("Content-Type", w.FormDataContentType())
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := ts.Client().Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct{ Results []json.RawMessage }
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK || len(out.Results) == 0 {
			b.Fatalf("POST /v1/search/image: %d, %d results, %v", resp.StatusCode, len(out.Results), err)
		}
	}
}

// attachCatalogViews encodes each demo product's catalog image with the
// service's image model and stores it as the product's view.
func attachCatalogViews(b *testing.B, a *apitest.Env, svc *serving.Service) {
	if err := svc.AddImageViews(b.Context(), "bench-catalog", catalogPhotos(b, a)); err != nil {
		b.Fatal(err)
	}
}

// attachTrainViews attaches the 2,640 training shop photos to the demo
// products of their fine class as views, as `vitrine eval photos --views
// photos_train.txt` does, and removes them when the benchmark ends.
func attachTrainViews(b *testing.B, a *apitest.Env, svc *serving.Service) {
	ps, err := photos.Read(filepath.Join(testenv.GroceryDir(b), "photos_train.txt"), "")
	if err != nil {
		b.Fatal(err)
	}
	const source = "bench-train"
	b.Cleanup(func() {
		if _, err := svc.RemoveImageViews(context.Background(), source); err != nil {
			b.Error(err)
		}
	})
	if n, err := photos.AttachViews(b.Context(), a.Store, svc, source, ps, 64); err != nil || n != len(ps) {
		b.Fatalf("%d of %d training photos attached (%v)", n, len(ps), err)
	}
}

// storeCatalogKeypoints stores the keypoints of each demo product's
// catalog image, as an indexer with keypoints on does at ingest.
func storeCatalogKeypoints(b *testing.B, a *apitest.Env) {
	ex := keypoints.NewExtractor()
	var ks []records.ImageKeypoints
	for _, p := range catalogPhotos(b, a) {
		f, err := ex.Extract(p.Image)
		if err != nil {
			b.Fatal(err)
		}
		ks = append(ks, records.ImageKeypoints{ProductID: p.ProductID, View: records.ViewCatalog, Source: records.ViewCatalog, Data: keypoints.Marshal(f)})
	}
	if err := a.Store.PutImageKeypoints(b.Context(), ks); err != nil {
		b.Fatal(err)
	}
}

// catalogPhotos reads each demo product's first catalog image.
func catalogPhotos(b *testing.B, a *apitest.Env) []serving.ViewPhoto {
	f, err := os.Open(filepath.Join(a.Root, "demo", "grocery", "catalog.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var views []serving.ViewPhoto
	dec := json.NewDecoder(f)
	for {
		var p struct {
			ID     string   `json:"id"`
			Images []string `json:"images"`
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			b.Fatal(err)
		}
		img, err := os.ReadFile(filepath.Join(a.Root, "demo", "grocery", p.Images[0]))
		if err != nil {
			b.Fatal(err)
		}
		views = append(views, serving.ViewPhoto{ProductID: p.ID, View: p.Images[0], Image: img})
	}
	return views
}

func openBenchEncoder(b *testing.B, name string) extractors.Encoder {
	e, err := extractors.Open(b.Context(), testenv.Runtime(b), testenv.Manifest(b, name), testenv.ModelDir(b), extractors.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	return e
}
