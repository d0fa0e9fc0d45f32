package serving_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/serving"
)

// photoEncoder is a fake image model: a photo's bytes name its vector.
type photoEncoder map[string][]float32

func (photoEncoder) Key() string { return "image@1" }

func (e photoEncoder) Encode(_ context.Context, in []byte) ([]float32, error) {
	v, ok := e[string(in)]
	if !ok {
		return nil, errors.New("unknown photo")
	}
	return v, nil
}

// memViews is an in-memory serving.ImageViews.
type memViews struct {
	mu    sync.Mutex
	views []records.ImageView
	gen   int
}

func (m *memViews) ImageViews(context.Context, string) ([]records.ImageView, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.views), nil
}

func (m *memViews) ImageViewsVersion(context.Context, string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return string(rune('a' + m.gen)), nil
}

func (m *memViews) PutImageViews(_ context.Context, _ string, vs []records.ImageView) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.views = append(m.views, vs...)
	m.gen++
	return nil
}

func (m *memViews) DeleteImageViews(_ context.Context, _, source string) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := len(m.views)
	m.views = slices.DeleteFunc(m.views, func(v records.ImageView) bool { return v.Source == source })
	m.gen++
	return int64(n - len(m.views)), nil
}

// fakeReader is a fake PhotoReader: a photo's bytes name its text.
type fakeReader struct {
	mu    sync.Mutex
	texts map[string]string
	err   error
	calls int
}

func (r *fakeReader) ReadText(_ context.Context, image []byte) (string, float64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.err != nil {
		return "", 0, r.err
	}
	return r.texts[string(image)], 0.9, nil
}

// photoShop is three cartons: oat milk's catalog image looks most like
// the photo "carton", while whole milk has two shoppers' photos that both
// look fairly like it.
func photoShop() (*memBackend, *memViews) {
	b := newBackend()
	b.add("oat", "Oat Drink Barista", "Oatly", "Dairy > Milk", nil)
	b.add("whole", "Whole Milk 3%", "Arla", "Dairy > Milk", nil)
	b.add("skim", "Skimmed Milk 0.5%", "Arla", "Dairy > Milk", nil)
	v := &memViews{views: []records.ImageView{
		{ProductID: "oat", View: "oat.jpg", Source: records.ViewCatalog, Vector: []float32{1, 0.05, 0}},
		{ProductID: "oat", View: "shop/oat-1.jpg", Source: "shoppers", Vector: []float32{0, 0, 1}},
		{ProductID: "whole", View: "whole.jpg", Source: records.ViewCatalog, Vector: []float32{0.8, 0.6, 0}},
		{ProductID: "whole", View: "shop/whole-1.jpg", Source: "shoppers", Vector: []float32{0.85, 0.5, 0.1}},
		{ProductID: "skim", View: "skim.jpg", Source: records.ViewCatalog, Vector: []float32{0, 1, 0}},
	}}
	return b, v
}

func TestSearchPhoto(t *testing.T) {
	enc := photoEncoder{"carton": {1, 0.2, 0}}
	tests := []struct {
		name      string
		cfg       serving.PhotoConfig
		reader    *fakeReader
		want      string
		wantParts []string
		wantReads int
	}{
		{name: "best view", want: "oat", wantParts: []string{"image"}},
		{name: "mean of the two best views", cfg: serving.PhotoConfig{TopViews: 2}, want: "whole", wantParts: []string{"image"}},
		{name: "text on the package", cfg: serving.PhotoConfig{OCRWeight: 1}, reader: &fakeReader{texts: map[string]string{"carton": "SKIMMED mjölk"}},
			want: "skim", wantParts: []string{"image", "text"}, wantReads: 1},
		{name: "no text read", cfg: serving.PhotoConfig{OCRWeight: 0.5}, reader: &fakeReader{}, want: "oat", wantParts: []string{"image"}, wantReads: 1},
		{name: "reader failing: visual only", cfg: serving.PhotoConfig{OCRWeight: 0.5}, reader: &fakeReader{err: errors.New("tesseract down")},
			want: "oat", wantParts: []string{"image"}, wantReads: 1},
		{name: "reader off by weight", reader: &fakeReader{texts: map[string]string{"carton": "skimmed"}}, want: "oat", wantParts: []string{"image"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, views := photoShop()
			opts := []serving.Option{serving.WithImageViews(views), serving.WithPhotoConfig(tc.cfg)}
			if tc.reader != nil {
				opts = append(opts, serving.WithPhotoReader(tc.reader))
			}
			s, err := serving.New(serving.DepsFrom(b, words, enc), opts...)
			if err != nil {
				t.Fatal(err)
			}
			res, err := s.SearchPhoto(t.Context(), serving.ImageSearchRequest{Image: []byte("carton"), K: 3})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Hits) != 3 || res.Hits[0].ID != tc.want {
				t.Fatalf("hits %v, want %s first of 3", serving.IDs(res.Hits), tc.want)
			}
			var parts []string
			for _, p := range res.Hits[0].Parts {
				parts = append(parts, p.Name)
			}
			if !slices.Equal(parts, tc.wantParts) {
				t.Errorf("first hit's parts %v, want %v", parts, tc.wantParts)
			}
			if tc.reader != nil && tc.reader.calls != tc.wantReads {
				t.Errorf("reader called %d times, want %d", tc.reader.calls, tc.wantReads)
			}
		})
	}
}

// cropEncoder is a fake image model that also encodes crops: a photo's
// bytes name the vectors of the whole photo and its crops.
type cropEncoder map[string][][]float32

func (cropEncoder) Key() string { return "image@1" }

func (e cropEncoder) Encode(_ context.Context, in []byte) ([]float32, error) {
	vs, ok := e[string(in)]
	if !ok {
		return nil, errors.New("unknown photo")
	}
	return vs[0], nil
}

func (e cropEncoder) EncodeCrops(_ context.Context, in []byte, scale float64) ([][]float32, error) {
	vs, ok := e[string(in)]
	if !ok || scale <= 0 {
		return nil, errors.New("unknown photo")
	}
	return vs, nil
}

// TestSearchPhotoCropsAndVote: the whole photo looks like oat milk's
// catalog image, a crop of it like skimmed milk's; with multi-crop the
// crop finds skimmed milk. Views voting lets whole milk's two fairly
// close views beat oat milk's single close one.
func TestSearchPhotoCropsAndVote(t *testing.T) {
	enc := cropEncoder{"carton": {{1, 0.2, 0}, {0.05, 1, 0}, {0.9, 0.3, 0}}}
	tests := []struct {
		name string
		cfg  serving.PhotoConfig
		want string
	}{
		{"whole photo", serving.PhotoConfig{}, "oat"},
		{"multi-crop", serving.PhotoConfig{CropScale: 0.7}, "skim"},
		{"views vote", serving.PhotoConfig{VoteViews: 2, VotePower: 1}, "whole"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, views := photoShop()
			s, err := serving.New(serving.DepsFrom(b, words, enc), serving.WithImageViews(views), serving.WithPhotoConfig(tc.cfg))
			if err != nil {
				t.Fatal(err)
			}
			res, err := s.SearchPhoto(t.Context(), serving.ImageSearchRequest{Image: []byte("carton"), K: 3})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Hits) != 3 || res.Hits[0].ID != tc.want {
				t.Fatalf("hits %v, want %s first of 3", serving.IDs(res.Hits), tc.want)
			}
		})
	}
}

// TestSearchPhotoSeesAnotherProcessesViews: views another process adds
// reach this one's index within a few seconds (the version is checked at
// most once a second and the index rebuilt in the background meanwhile,
// answering from the old one), without a restart.
func TestSearchPhotoSeesAnotherProcessesViews(t *testing.T) {
	b, views := photoShop()
	enc := photoEncoder{"carton": {1, 0.2, 0}, "skim-shot": {1, 0.2, 0}}
	var svcs [2]*serving.Service
	for i := range svcs {
		s, err := serving.New(serving.DepsFrom(b, words, enc), serving.WithImageViews(views))
		if err != nil {
			t.Fatal(err)
		}
		svcs[i] = s
	}
	first := func() string {
		t.Helper()
		res, err := svcs[0].SearchPhoto(t.Context(), serving.ImageSearchRequest{Image: []byte("carton"), K: 3})
		if err != nil {
			t.Fatal(err)
		}
		return res.Hits[0].ID
	}
	if got := first(); got != "oat" {
		t.Fatalf("first %s before the new view, want oat", got)
	}
	if err := svcs[1].AddImageViews(t.Context(), "shoppers", []serving.ViewPhoto{{ProductID: "skim", View: "shop/skim-1.jpg", Image: []byte("skim-shot")}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for first() != "skim" {
		if time.Now().After(deadline) {
			t.Fatal("the other process's view never reached this one's index")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
