package serving_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/serving"
)

// fakeVerifier is an in-memory serving.PhotoVerifier: inliers[photo][blob]
// (0 when unknown); it records which blobs each call verified.
type fakeVerifier struct {
	mu      sync.Mutex
	inliers map[string]map[string]int
	err     error // of the verification
	prepErr error // of Prepare (an undecodable photo)
	seen    [][]string
}

func (f *fakeVerifier) Prepare(_ context.Context, photo []byte) (func(context.Context, [][]byte) ([]int, error), error) {
	if f.prepErr != nil {
		return nil, f.prepErr
	}
	return func(_ context.Context, stored [][]byte) ([]int, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		var seen []string
		out := make([]int, len(stored))
		for i, b := range stored {
			seen = append(seen, string(b))
			out[i] = f.inliers[string(photo)][string(b)]
		}
		f.seen = append(f.seen, seen)
		return out, f.err
	}, nil
}

// memKeypoints is an in-memory serving.PhotoKeypoints: each product's
// catalog image's keypoints are its id, and an extra view's its name.
type memKeypoints []records.ImageKeypoints

func (m memKeypoints) ImageKeypoints(_ context.Context, views bool) ([]records.ImageKeypoints, error) {
	return slices.DeleteFunc(slices.Clone(m), func(k records.ImageKeypoints) bool { return !views && k.View != records.ViewCatalog }), nil
}

// TestSearchPhotoVerify: oat milk's catalog image looks most like the
// photo, but the photo shows skimmed milk's printed package (many
// inliers): verification moves it first. A photo that matches no package
// (few inliers), a failing verifier, a photo it cannot read or
// verification off keeps the visual order, and only the top VerifyTop
// products are verified.
func TestSearchPhotoVerify(t *testing.T) {
	enc := photoEncoder{"carton": {1, 0.2, 0}}
	kps := memKeypoints{
		{ProductID: "oat", View: records.ViewCatalog, Data: []byte("oat")},
		{ProductID: "whole", View: records.ViewCatalog, Data: []byte("whole")},
		{ProductID: "skim", View: records.ViewCatalog, Data: []byte("skim")},
		{ProductID: "skim", View: "shop/skim-1.jpg", Data: []byte("skim-1")},
	}
	on := serving.PhotoConfig{VerifyTop: 3, VerifyWeight: 0.2, VerifyMinInliers: 7}
	tests := []struct {
		name     string
		cfg      serving.PhotoConfig
		inliers  map[string]int
		err      error
		prepErr  error
		want     []string
		wantSeen []string // blobs verified, nil: no call
	}{
		{name: "printed package found", cfg: on, inliers: map[string]int{"skim": 40, "oat": 6, "whole": 7},
			want: []string{"skim", "oat", "whole"}, wantSeen: []string{"oat", "whole", "skim"}},
		{name: "nothing printed matches", cfg: on, inliers: map[string]int{"skim": 7, "oat": 5},
			want: []string{"oat", "whole", "skim"}, wantSeen: []string{"oat", "whole", "skim"}},
		{name: "verifier failing", cfg: on, inliers: map[string]int{"skim": 40}, err: errors.New("opencv down"),
			want: []string{"oat", "whole", "skim"}, wantSeen: []string{"oat", "whole", "skim"}},
		{name: "photo unreadable to the verifier", cfg: on, inliers: map[string]int{"skim": 40}, prepErr: errors.New("corrupt"),
			want: []string{"oat", "whole", "skim"}},
		{name: "only the top two verified", cfg: serving.PhotoConfig{VerifyTop: 2, VerifyWeight: 0.2, VerifyMinInliers: 7}, inliers: map[string]int{"skim": 40, "whole": 30},
			want: []string{"whole", "oat", "skim"}, wantSeen: []string{"oat", "whole"}},
		{name: "off", inliers: map[string]int{"skim": 40}, want: []string{"oat", "whole", "skim"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, views := photoShop()
			views.views = slices.DeleteFunc(views.views, func(v records.ImageView) bool { return v.Source != records.ViewCatalog })
			v := &fakeVerifier{inliers: map[string]map[string]int{"carton": tc.inliers}, err: tc.err, prepErr: tc.prepErr}
			s, err := serving.New(serving.DepsFrom(b, words, enc), serving.WithImageViews(views),
				serving.WithPhotoConfig(tc.cfg), serving.WithPhotoVerifier(v, kps))
			if err != nil {
				t.Fatal(err)
			}
			res, err := s.SearchPhoto(t.Context(), serving.ImageSearchRequest{Image: []byte("carton"), K: 3})
			if err != nil {
				t.Fatal(err)
			}
			if got := serving.IDs(res.Hits); !slices.Equal(got, tc.want) {
				t.Errorf("hits %v, want %v", got, tc.want)
			}
			var seen []string
			if len(v.seen) > 0 {
				seen = v.seen[0]
			}
			if len(v.seen) > 1 || !slices.Equal(seen, tc.wantSeen) {
				t.Errorf("verified %v, want one call with %v", v.seen, tc.wantSeen)
			}
			var parts []string
			for _, p := range res.Hits[0].Parts {
				parts = append(parts, p.Name)
			}
			wantParts := []string{"image"}
			if tc.want[0] != "oat" {
				wantParts = append(wantParts, "verify")
			}
			if !slices.Equal(parts, wantParts) {
				t.Errorf("first hit's parts %v, want %v", parts, wantParts)
			}
		})
	}
}
