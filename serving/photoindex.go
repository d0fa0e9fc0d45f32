package serving

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/vecmath"
	"github.com/vitrinehq/vitrine/vecmath/discriminant"
)

// PhotoConfig switches the training-free levers of search by photo. Each
// works on the catalog's image views held in memory (derived from
// PostgreSQL, reloaded when they change); the zero value is plain cosine
// similarity, the best view of each product.
type PhotoConfig struct {
	// Centre subtracts the mean of the catalog's views from every view
	// and from the query before the cosine (hubness reduction: products
	// that look like the average image stop winning every query).
	Centre bool
	// CSLSK > 0 scores by cross-domain similarity local scaling: 2·cos
	// minus the view's mean cosine to its CSLSK nearest catalog products
	// (views in dense regions, the hubs, are penalised).
	CSLSK int
	// ExpandTop > 0 re-ranks by query expansion over the catalog's
	// neighbour graph: the query plus the best views of its ExpandTop
	// nearest products, weighted by similarity^ExpandAlpha, searched again.
	ExpandTop   int
	ExpandAlpha float64
	// TopViews > 1 scores a product by the mean of its TopViews best
	// view scores (of those it has) instead of its single best view: a
	// product that several of its views match beats one that a single
	// stray view matches.
	TopViews int
	// VoteViews > 0 scores a product by a vote of its VoteViews nearest
	// views instead: the p-norm (Σ max(cos, 0)^VotePower)^(1/VotePower)
	// over them, so a product that many of its views match beats one
	// that a single stray view matches, close views count most, and a
	// product with one view scores its cosine (catalog-only search and
	// its fusion with the text on the photo are unchanged). It overrides
	// TopViews. VotePower 0 means 16, the power chosen on both development
	// photo sets (image.vote_power's default too).
	VoteViews int
	VotePower float64
	// CropScale > 0 is multi-crop test-time augmentation of the query:
	// the photo, its centre and four corner squares of CropScale × its
	// shorter side are encoded in one model run (by an encoder that can,
	// see PhotoCropEncoder), and each view scores the crop nearest it, so
	// the product fills the crop that finds it when a shop photo carries
	// clutter.
	CropScale float64
	// OCRWeight > 0 reads the printed text on the photo (with the
	// Service's PhotoReader), searches it lexically and adds OCRWeight ×
	// the reader's confidence × the product's text score relative to the
	// best text match to the visual score.
	OCRWeight float64
	// VerifyTop > 0 verifies the VerifyTop best products of the visual
	// ranking geometrically (with the Service's PhotoVerifier, against
	// their catalog image's keypoints): a product whose image shares more
	// than VerifyMinInliers inliers with the photo gains VerifyWeight ×
	// √(inliers − VerifyMinInliers), so the exact package printed on the
	// photo beats look-alikes of its group.
	VerifyTop        int
	VerifyWeight     float64
	VerifyMinInliers int
	// Whiten learns a projection from the products' views when two or
	// more products have two or more views each (shoppers' photos
	// attached, say): the views and the query are whitened by how a
	// product's views vary among themselves (light, angle, clutter), so
	// that variation stops counting against a match. Catalog-only search
	// has one view a product and is unchanged. WhitenShrinkage is the
	// shrinkage of that covariance towards the identity (0 means
	// discriminant.Fit's default, 0.3; see discriminant.WithShrinkage).
	Whiten          bool
	WhitenShrinkage float64
	// DiscriminantCover is the share of the products with views that must
	// have two or more for the learned projection to keep only the
	// discriminant directions, those along which the products' views
	// differ (Fisher's LDA), instead of the whole whitened space: best
	// once nearly every product has photos, worse when few do (the
	// products without any would be told apart in the few dimensions
	// learned from the others). 0 means 0.9; above 1 never.
	DiscriminantCover float64
}

// photoIndex is an in-memory copy of one image model's views, with the
// catalog statistics the levers need.
type photoIndex struct {
	version string
	ids     []string    // product id of each view
	vecs    [][]float32 // unit length (centred first when configured)
	mean    []float32   // nil unless centring
	radius  []float64   // CSLS: mean cosine to the k nearest products
	catalog []int       // the views that are catalog images
	// keypoints holds each product's catalog image's stored local
	// features when verification is on.
	keypoints map[string][]byte
	// proj is the projection learned from the views (nil: none, see
	// PhotoConfig.Whiten); vecs and queries are projected first.
	proj     *discriminant.Projection
	learnErr error
}

// newPhotoIndex prepares the views under cfg. A projection that cannot be
// learned (see learnProjection) leaves the views unprojected; its error is
// ix.learnErr.
func newPhotoIndex(version string, views []records.ImageView, cfg PhotoConfig) *photoIndex {
	ix := &photoIndex{version: version, ids: make([]string, 0, len(views)), vecs: make([][]float32, 0, len(views))}
	if cfg.Whiten {
		ix.proj, ix.learnErr = learnProjection(views, cfg)
	}
	if cfg.Centre && ix.proj == nil {
		ix.mean = meanOf(views)
	}
	raw := make([][]float32, 0, len(views))
	for _, v := range views {
		if len(v.Vector) == 0 || (ix.mean != nil && len(v.Vector) != len(ix.mean)) ||
			(ix.proj != nil && len(v.Vector) != ix.proj.InputDim()) {
			continue
		}
		if v.Source == records.ViewCatalog {
			ix.catalog = append(ix.catalog, len(ix.ids))
		}
		ix.ids = append(ix.ids, v.ProductID)
		raw = append(raw, v.Vector)
	}
	if ix.proj != nil {
		ix.vecs = ix.proj.ApplyAll(raw)
		for _, v := range ix.vecs {
			vecmath.Normalize(v)
		}
	} else {
		for _, v := range raw {
			ix.vecs = append(ix.vecs, ix.prepare(v))
		}
	}
	if cfg.CSLSK > 0 {
		ix.radius = ix.radii(cfg.CSLSK)
	}
	return ix
}

// defaultDiscriminantCover is PhotoConfig.DiscriminantCover's default,
// chosen on the development photos (dev and the training split's
// held-out quarter) with views for some and for all products.
const defaultDiscriminantCover = 0.9

// learnProjection fits the projection of cfg.Whiten on the views (nil
// without an error when they cannot give one: fewer than two products
// with two or more views).
// It keeps only the discriminant directions when at least
// cfg.DiscriminantCover of the products with views have two or more.
func learnProjection(views []records.ImageView, cfg PhotoConfig) (*discriminant.Projection, error) {
	vecs := make([][]float32, 0, len(views))
	labels := make([]string, 0, len(views))
	count := map[string]int{}
	for _, v := range views {
		if len(v.Vector) == 0 {
			continue
		}
		vecs, labels = append(vecs, v.Vector), append(labels, v.ProductID)
		count[v.ProductID]++
	}
	multi := 0
	for _, n := range count {
		if n >= 2 {
			multi++
		}
	}
	if multi < 2 {
		return nil, nil
	}
	cover := cmp.Or(cfg.DiscriminantCover, defaultDiscriminantCover)
	opts := []discriminant.Option{discriminant.WithDiscriminant(float64(multi) >= cover*float64(len(count)))}
	if cfg.WhitenShrinkage > 0 {
		opts = append(opts, discriminant.WithShrinkage(cfg.WhitenShrinkage))
	}
	p, err := discriminant.Fit(vecs, labels, opts...)
	if err != nil {
		return nil, fmt.Errorf("learn the photo projection: %w", err)
	}
	return p, nil
}

func meanOf(views []records.ImageView) []float32 {
	var sum []float64
	n := 0
	for _, v := range views {
		if sum == nil {
			sum = make([]float64, len(v.Vector))
		}
		if len(v.Vector) != len(sum) {
			continue
		}
		for i, x := range v.Vector {
			sum[i] += float64(x)
		}
		n++
	}
	mean := make([]float32, len(sum))
	for i, x := range sum {
		mean[i] = float32(x / float64(n))
	}
	return mean
}

// prepare copies v, projects it by the learned projection or centres it
// when configured and scales it to unit length (a zero vector stays zero:
// it matches nothing; one of another dimension than the projection's
// becomes zero).
func (ix *photoIndex) prepare(v []float32) []float32 {
	if ix.proj != nil {
		out := ix.proj.Apply(v)
		vecmath.Normalize(out)
		return out
	}
	out := slices.Clone(v)
	if ix.mean != nil && len(out) == len(ix.mean) {
		for i := range out {
			out[i] -= ix.mean[i]
		}
	}
	vecmath.Normalize(out)
	return out
}

// radii computes each view's mean cosine to the catalog images of its k
// most similar other products, the density CSLS corrects for. It costs
// views × catalog images dot products, once per reload.
func (ix *photoIndex) radii(k int) []float64 {
	out := make([]float64, len(ix.vecs))
	sims := make([]float64, 0, len(ix.catalog))
	for i, v := range ix.vecs {
		sims = sims[:0]
		for _, j := range ix.catalog {
			if ix.ids[j] == ix.ids[i] {
				continue
			}
			if s, err := vecmath.Dot(v, ix.vecs[j]); err == nil {
				sims = append(sims, s)
			}
		}
		slices.SortFunc(sims, func(a, b float64) int { return cmp.Compare(b, a) })
		top := sims[:min(k, len(sims))]
		var sum float64
		for _, s := range top {
			sum += s
		}
		if len(top) > 0 {
			out[i] = sum / float64(len(top))
		}
	}
	return out
}

// bestPerProduct returns each product's score for the (prepared) query
// crops: per view the best crop's cosine (minus the CSLS radius when
// radius is given), per product its best view's, the mean of its top best
// views' or their vote (see PhotoConfig.VoteViews).
func (ix *photoIndex) bestPerProduct(qs [][]float32, radius []float64, cfg PhotoConfig) map[string]float64 {
	top := max(cfg.TopViews, 1)
	if cfg.VoteViews > 0 {
		top = cfg.VoteViews
	}
	tops := make(map[string][]float64)
	for i, v := range ix.vecs {
		s, ok := bestCrop(qs, v)
		if !ok {
			continue // a view of another dimension: a model change under way
		}
		if radius != nil {
			s = 2*s - radius[i]
		}
		tops[ix.ids[i]] = keepTop(tops[ix.ids[i]], s, top)
	}
	best := make(map[string]float64, len(tops))
	for id, ss := range tops {
		if cfg.VoteViews > 0 {
			best[id] = vote(ss, cfg.VoteViews, cfg.VotePower)
			continue
		}
		var sum float64
		for _, x := range ss {
			sum += x
		}
		best[id] = sum / float64(len(ss))
	}
	return best
}

// bestCrop is the highest cosine of the query crops to v; false when no
// crop has v's dimension.
func bestCrop(qs [][]float32, v []float32) (float64, bool) {
	best, ok := math.Inf(-1), false
	for _, q := range qs {
		if s, err := vecmath.Dot(q, v); err == nil {
			best, ok = max(best, s), true
		}
	}
	return best, ok
}

// defaultVotePower is PhotoConfig.VotePower's default.
const defaultVotePower = 16

// vote is the p-norm of a product's best view scores (at most n of them),
// negative scores clamped at 0.
func vote(ss []float64, n int, p float64) float64 {
	if p <= 0 {
		p = defaultVotePower
	}
	var sum float64
	for _, x := range ss[:min(n, len(ss))] {
		sum += math.Pow(max(x, 0), p)
	}
	return math.Pow(sum, 1/p)
}

// keepTop inserts s into ss, kept sorted high to low and at most n long.
func keepTop(ss []float64, s float64, n int) []float64 {
	if len(ss) == n && s <= ss[n-1] {
		return ss
	}
	i, _ := slices.BinarySearchFunc(ss, s, func(a, b float64) int { return cmp.Compare(b, a) })
	ss = slices.Insert(ss, i, s)
	return ss[:min(len(ss), n)]
}

// scoredProduct is one product's score for a photo.
type scoredProduct struct {
	id     string
	score  float64 // image + text
	image  float64 // the visual score
	text   float64 // the boost from the text read on the photo
	verify float64 // the boost from geometric verification
}

// search ranks the products allowed (nil: all) for the raw query vectors:
// the photo's, then those of its crops when multi-crop is on.
func (ix *photoIndex) search(qs [][]float32, cfg PhotoConfig, allowed map[string]bool) []scoredProduct {
	pqs := make([][]float32, len(qs))
	for i, q := range qs {
		pqs[i] = ix.prepare(q)
	}
	ranked := ix.rank(pqs, allowed, cfg)
	if cfg.ExpandTop > 0 && len(ranked) > 0 && len(pqs) > 0 {
		// The whole photo's vector is expanded; its crops stay.
		pqs[0] = ix.expand(pqs[0], ranked[:min(cfg.ExpandTop, len(ranked))], cfg.ExpandAlpha)
		ranked = ix.rank(pqs, allowed, cfg)
	}
	return ranked
}

func (ix *photoIndex) rank(pqs [][]float32, allowed map[string]bool, cfg PhotoConfig) []scoredProduct {
	best := ix.bestPerProduct(pqs, ix.radius, cfg)
	out := make([]scoredProduct, 0, len(best))
	for id, s := range best {
		if allowed == nil || allowed[id] {
			out = append(out, scoredProduct{id: id, score: s, image: s})
		}
	}
	sortScored(out)
	return out
}

// sortScored orders products by score, best first, ties by id.
func sortScored(ps []scoredProduct) {
	slices.SortFunc(ps, func(a, b scoredProduct) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
}

// expand is alpha query expansion: the query plus the best view of each
// top product, weighted by its cosine^alpha (negative cosines add
// nothing), normalised.
func (ix *photoIndex) expand(pq []float32, top []scoredProduct, alpha float64) []float32 {
	if alpha <= 0 {
		alpha = 3
	}
	out := slices.Clone(pq)
	for _, t := range top {
		v, s := ix.bestView(pq, t.id)
		if v == nil || s <= 0 {
			continue
		}
		w := float32(math.Pow(s, alpha))
		for i, x := range v {
			out[i] += w * x
		}
	}
	vecmath.Normalize(out)
	return out
}

// bestView is product id's view nearest the query, and its cosine.
func (ix *photoIndex) bestView(pq []float32, id string) ([]float32, float64) {
	var best []float32
	bs := math.Inf(-1)
	for i, v := range ix.vecs {
		if ix.ids[i] != id {
			continue
		}
		if s, err := vecmath.Dot(pq, v); err == nil && s > bs {
			best, bs = v, s
		}
	}
	return best, bs
}
