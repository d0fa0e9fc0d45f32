package serving

import (
	"context"
	"fmt"
	"math"

	"github.com/vitrinehq/vitrine/records"
)

// PhotoVerifier checks a photo against stored local features of product
// views (*keypoints.PhotoVerifier is one). Prepare reads the photo's
// features once and returns the function that counts, for each stored
// blob, how many of the photo's keypoint matches one geometric transform
// explains: the same printed package shares dozens, a look-alike or a
// fruit a handful.
type PhotoVerifier interface {
	Prepare(ctx context.Context, photo []byte) (func(ctx context.Context, stored [][]byte) ([]int, error), error)
}

// preparedPhoto is what PhotoVerifier.Prepare returned.
type preparedPhoto struct {
	inliers func(ctx context.Context, stored [][]byte) ([]int, error)
	err     error
}

// preparePhoto reads the photo's local features concurrently with its
// encoding when verification is on; the channel yields them (nothing
// when off).
func (s *Service) preparePhoto(ctx context.Context, photo []byte) <-chan preparedPhoto {
	out := make(chan preparedPhoto, 1)
	if !s.photo.verifyOn() {
		out <- preparedPhoto{}
		return out
	}
	go func() {
		f, err := s.photo.verifier.Prepare(ctx, photo)
		out <- preparedPhoto{inliers: f, err: err}
	}()
	return out
}

// PhotoKeypoints reads the stored local features of the live products'
// views (*store.Store is one): the catalog images' only, or with views
// every extra view's too.
type PhotoKeypoints interface {
	ImageKeypoints(ctx context.Context, views bool) ([]records.ImageKeypoints, error)
}

// WithPhotoVerifier lets search by photo verify its top candidates
// geometrically (PhotoConfig.VerifyTop > 0 switches it on), against the
// keypoints k stores, loaded with the photo index.
func WithPhotoVerifier(v PhotoVerifier, k PhotoKeypoints) Option {
	return func(s *Service) { s.photo.verifier, s.photo.keypoints = v, k }
}

// verifyOn reports whether search by photo verifies its top candidates.
func (ps *photoSearch) verifyOn() bool {
	return ps.verifier != nil && ps.keypoints != nil && ps.cfg.VerifyTop > 0
}

// loadKeypoints reads the stored keypoints into the index: each product's
// catalog image's (views: its extra views' are not verified yet).
func (ix *photoIndex) loadKeypoints(ctx context.Context, k PhotoKeypoints) error {
	ks, err := k.ImageKeypoints(ctx, false)
	if err != nil {
		return fmt.Errorf("photo keypoints: %w", err)
	}
	ix.keypoints = make(map[string][]byte, len(ks))
	for _, kp := range ks {
		if kp.View == records.ViewCatalog {
			ix.keypoints[kp.ProductID] = kp.Data
		}
	}
	return nil
}

// verify re-ranks the top VerifyTop products of the visual ranking by
// their geometric inliers with the photo: each gains VerifyWeight ×
// √(inliers − VerifyMinInliers) when it has more than VerifyMinInliers,
// so a photo that matches nothing (fruit, an unknown package) keeps its
// visual order. A verifier's failure (an undecodable photo, say) leaves
// the ranking as it was, logged.
func (s *Service) verify(ctx context.Context, prep preparedPhoto, ix *photoIndex, ranked []scoredProduct) []scoredProduct {
	if prep.inliers == nil && prep.err == nil {
		return ranked // verification off
	}
	cfg := s.photo.cfg
	top := ranked[:min(len(ranked), cfg.VerifyTop)]
	stored := make([][]byte, len(top))
	for i, r := range top {
		stored[i] = ix.keypoints[r.id]
	}
	var inliers []int
	err := prep.err
	if err == nil {
		inliers, err = prep.inliers(ctx, stored)
	}
	if err != nil || len(inliers) != len(top) {
		s.log.Warn("verifying a photo's top products", "err", err)
		return ranked
	}
	for i, n := range inliers {
		if b := verifyBoost(n, cfg); b > 0 {
			top[i].verify = b
			top[i].score += b
		}
	}
	sortScored(top)
	return ranked
}

// verifyBoost is what n inliers add to a product's score.
func verifyBoost(n int, cfg PhotoConfig) float64 {
	if n <= cfg.VerifyMinInliers {
		return 0
	}
	return cfg.VerifyWeight * math.Sqrt(float64(n-cfg.VerifyMinInliers))
}
