package serving

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/ranking"
	"github.com/vitrinehq/vitrine/records"
)

// ImageViews reads and writes the views of products that search by photo
// matches (*store.Store is one): each product's catalog embedding of the
// image model and its extra views (shoppers' photos, say).
type ImageViews interface {
	// ImageViews returns every view of the live products for a model.
	ImageViews(ctx context.Context, model string) ([]records.ImageView, error)
	// ImageViewsVersion changes whenever ImageViews' answer may have.
	ImageViewsVersion(ctx context.Context, model string) (string, error)
	PutImageViews(ctx context.Context, model string, vs []records.ImageView) error
	DeleteImageViews(ctx context.Context, model, source string) (int64, error)
}

// photoCheckEvery bounds how often a search checks whether the views
// changed (one cheap query); writes through the Service reload at once.
const photoCheckEvery = time.Second

// photoSearch is the Service's search-by-photo state: its configuration,
// where the views come from, and the in-memory index built from them.
type photoSearch struct {
	cfg       PhotoConfig
	views     ImageViews
	reader    PhotoReader
	verifier  PhotoVerifier
	keypoints PhotoKeypoints

	mu       sync.Mutex
	ix       *photoIndex
	checked  time.Time
	building bool // a background rebuild is under way
}

// WithPhotoConfig sets the levers of search by photo (default: none).
func WithPhotoConfig(c PhotoConfig) Option { return func(s *Service) { s.photo.cfg = c } }

// WithImageViews gives search by photo the views to match in memory, with
// the levers of PhotoConfig. Without it SearchPhoto answers like
// SearchImage (nearest catalog embedding in PostgreSQL, no levers).
func WithImageViews(v ImageViews) Option { return func(s *Service) { s.photo.views = v } }

// PhotoReader reads the printed text on a photo (*ocr.Reader is one):
// the words as a query and the reader's confidence in them, 0 to 1; no
// words when the photo has no legible text.
type PhotoReader interface {
	ReadText(ctx context.Context, image []byte) (text string, confidence float64, err error)
}

// WithPhotoReader lets search by photo read the text on the photo and
// fuse its lexical matches with the visual scores (PhotoConfig.OCRWeight
// > 0 switches it on).
func WithPhotoReader(r PhotoReader) Option { return func(s *Service) { s.photo.reader = r } }

// PhotoConfig returns search by photo's configuration.
func (s *Service) PhotoConfig() PhotoConfig { return s.photo.cfg }

// SearchPhoto is search by photo: the photo encoded by the image model,
// matched against every view of every product (catalog images and extra
// views) under the configured levers, each product once with its best
// view's score, filtered, hydrated. ErrNoImageModel without an image
// model.
func (s *Service) SearchPhoto(ctx context.Context, req ImageSearchRequest) (ImageSearchResult, error) {
	if s.photo.views == nil {
		return s.SearchImage(ctx, req)
	}
	if s.d.ImageEncoder == nil {
		return ImageSearchResult{}, ErrNoImageModel
	}
	k := req.K
	if k == 0 {
		k = DefaultK
	}
	if err := firstErr(checkK(k), checkUser("user_id", req.UserID), checkFilter(req.Filter, "filter")); err != nil {
		return ImageSearchResult{}, err
	}
	p := s.Params(req.UserID)
	read, prep := s.readPhoto(ctx, req.Image), s.preparePhoto(ctx, req.Image)
	qs, err := s.encodePhoto(ctx, req.Image)
	if err != nil {
		return ImageSearchResult{}, err
	}
	q := qs[0]
	ix, err := s.photoIndex(ctx)
	if err != nil {
		return ImageSearchResult{}, err
	}
	var allowed map[string]bool
	if !req.Filter.Empty() {
		if allowed, err = s.photoAllowed(ctx, q, req); err != nil {
			return ImageSearchResult{}, err
		}
	}
	ranked := ix.search(qs, s.photo.cfg, allowed)
	ranked = s.verify(ctx, <-prep, ix, ranked)
	if ranked, err = s.fuseText(ctx, ranked, <-read, req.Filter); err != nil {
		return ImageSearchResult{}, err
	}
	// A few more than k: products deleted since the reload drop out when
	// hydrated.
	ranked = ranked[:min(len(ranked), k+k/2+2)]
	rs := make([]ranking.Result, len(ranked))
	for i, r := range ranked {
		parts := []ranking.Part{{Name: "image", Score: r.image}}
		if r.verify != 0 {
			parts = append(parts, ranking.Part{Name: "verify", Score: r.verify})
		}
		if r.text != 0 {
			parts = append(parts, ranking.Part{Name: "text", Score: r.text})
		}
		rs[i] = ranking.Result{ProductID: r.id, Score: r.score, Parts: parts}
	}
	hits, err := s.hydrate(ctx, rs, true)
	if err != nil {
		return ImageSearchResult{}, err
	}
	return ImageSearchResult{Hits: hits[:min(len(hits), k)], Assignment: p.Assignment}, nil
}

// PhotoCropEncoder is an image encoder that encodes a photo's crops in one
// model run (*extractors' image encoders are): the whole photo, then its
// centre and four corner squares of scale × its shorter side.
type PhotoCropEncoder interface {
	EncodeCrops(ctx context.Context, image []byte, scale float64) ([][]float32, error)
}

// encodePhoto is the query's vectors: the whole photo's first, then its
// crops' when PhotoConfig.CropScale is on and the encoder can crop.
func (s *Service) encodePhoto(ctx context.Context, image []byte) ([][]float32, error) {
	if ce, ok := s.d.ImageEncoder.(PhotoCropEncoder); ok && s.photo.cfg.CropScale > 0 {
		return ce.EncodeCrops(ctx, image, s.photo.cfg.CropScale)
	}
	q, err := s.d.ImageEncoder.Encode(ctx, image)
	if err != nil {
		return nil, err
	}
	return [][]float32{q}, nil
}

// photoText is what the PhotoReader read on a photo.
type photoText struct {
	text       string
	confidence float64
}

// readPhoto reads the text on the photo concurrently with its encoding
// when the reader is configured and on; the channel yields the text (none
// when off or unreadable: search by photo then is visual only).
func (s *Service) readPhoto(ctx context.Context, image []byte) <-chan photoText {
	out := make(chan photoText, 1)
	if s.photo.reader == nil || s.photo.cfg.OCRWeight <= 0 {
		out <- photoText{}
		return out
	}
	go func() {
		text, conf, err := s.photo.reader.ReadText(ctx, image)
		if err != nil {
			s.log.Warn("reading the text on a photo", "err", err)
		}
		out <- photoText{text: text, confidence: conf}
	}()
	return out
}

// photoTextK is how many lexical matches of a photo's text are boosted.
const photoTextK = 10

// fuseText adds to each product's visual score the boost of its lexical
// match to the text read on the photo (OCRWeight × the reader's
// confidence × its text score relative to the best match) and re-ranks.
// Products the visual ranking lacks (outside the filter) get no boost.
func (s *Service) fuseText(ctx context.Context, ranked []scoredProduct, pt photoText, f catalog.Filter) ([]scoredProduct, error) {
	if strings.TrimSpace(pt.text) == "" || pt.confidence <= 0 {
		return ranked, nil
	}
	m, err := s.d.Text.SearchText(ctx, records.TextQuery{Text: pt.text, K: photoTextK, Filter: f})
	if err != nil {
		return nil, fmt.Errorf("search the text on the photo: %w", err)
	}
	var top float64
	for _, h := range m.Hits {
		top = max(top, h.Score)
	}
	if top <= 0 {
		return ranked, nil
	}
	boost := make(map[string]float64, len(m.Hits))
	for _, h := range m.Hits {
		boost[h.ProductID] = s.photo.cfg.OCRWeight * pt.confidence * max(h.Score, 0) / top
	}
	for i := range ranked {
		if b, ok := boost[ranked[i].id]; ok {
			ranked[i].text = b
			ranked[i].score += b
		}
	}
	sortScored(ranked)
	return ranked, nil
}

// photoAllowed is the set of products that pass the request's filter,
// read through the vector search (its filter is PostgreSQL's): up to
// records.MaxK products, nearest the photo's catalog embedding first.
func (s *Service) photoAllowed(ctx context.Context, q []float32, req ImageSearchRequest) (map[string]bool, error) {
	nn, err := s.d.Vectors.Nearest(ctx, records.NearestQuery{Model: s.d.ImageEncoder.Key(), Vector: q, K: records.MaxK, Filter: req.Filter})
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(nn))
	for _, n := range nn {
		out[n.ProductID] = true
	}
	return out, nil
}

// photoIndex returns the in-memory index of the image model's views,
// reloading it when the store's version of them changed (checked at most
// once a second). Without an index (the first search, or after this
// process changed the views) it loads one before answering; when another
// process changed them it answers from the index it has while a new one
// is built in the background, so a reload (seconds when a projection is
// learned) never holds up searches.
func (s *Service) photoIndex(ctx context.Context) (*photoIndex, error) {
	ps := &s.photo
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.ix != nil && time.Since(ps.checked) < photoCheckEvery {
		return ps.ix, nil
	}
	model := s.d.ImageEncoder.Key()
	version, err := ps.views.ImageViewsVersion(ctx, model)
	if err != nil {
		return nil, err
	}
	ps.checked = time.Now()
	if ps.ix != nil && ps.ix.version == version {
		return ps.ix, nil
	}
	if ps.ix != nil {
		if !ps.building {
			ps.building = true
			go s.rebuildPhotoIndex(context.WithoutCancel(ctx), model, version, ps.ix)
		}
		return ps.ix, nil
	}
	ix, err := s.loadPhotoIndex(ctx, model, version)
	if err != nil {
		return nil, err
	}
	ps.ix = ix
	return ix, nil
}

// photoRebuildTimeout bounds a background rebuild of the photo index.
const photoRebuildTimeout = 5 * time.Minute

// rebuildPhotoIndex builds the index of version in the background and
// swaps it in, unless the index was dropped or replaced meanwhile (from
// stale); a failure is logged and the next check tries again.
func (s *Service) rebuildPhotoIndex(ctx context.Context, model, version string, stale *photoIndex) {
	ps := &s.photo
	ctx, cancel := context.WithTimeout(ctx, photoRebuildTimeout)
	defer cancel()
	ix, err := s.loadPhotoIndex(ctx, model, version)
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.building = false
	if err != nil {
		s.log.Warn("rebuilding the photo index", "model", model, "err", err)
		return
	}
	if ps.ix == stale {
		ps.ix = ix
	}
}

// loadPhotoIndex reads the views (and keypoints when verification is on)
// and builds their index under the configuration.
func (s *Service) loadPhotoIndex(ctx context.Context, model, version string) (*photoIndex, error) {
	ps := &s.photo
	views, err := ps.views.ImageViews(ctx, model)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	ix := newPhotoIndex(version, views, ps.cfg)
	if ps.verifyOn() {
		if err := ix.loadKeypoints(ctx, ps.keypoints); err != nil {
			return nil, err
		}
	}
	if ix.learnErr != nil {
		s.log.Warn("photo views unprojected", "model", model, "err", ix.learnErr)
	}
	attrs := []any{"model", model, "views", len(ix.ids), "seconds", time.Since(start).Seconds()}
	if ix.proj != nil {
		attrs = append(attrs, "projection_dims", ix.proj.Dim(), "projection_products", ix.proj.Classes, "discriminant", ix.proj.Discriminant)
	}
	if ps.verifyOn() {
		attrs = append(attrs, "keypoints", len(ix.keypoints))
		if len(ix.keypoints) < len(ix.catalog) {
			s.log.Warn("some products have no keypoints to verify a photo against; `vitrine backfill` extracts them", "products", len(ix.catalog), "with_keypoints", len(ix.keypoints))
		}
	}
	s.log.Info("photo index loaded", attrs...)
	return ix, nil
}

// invalidatePhotos makes the next search reload the views.
func (s *Service) invalidatePhotos() {
	s.photo.mu.Lock()
	s.photo.ix = nil
	s.photo.mu.Unlock()
}

// ViewPhoto is one photo to add as an extra view of a product.
type ViewPhoto struct {
	ProductID string
	View      string // the photo's reference (path or URL)
	Image     []byte
}

// ErrNoImageViews is returned by the views use cases of a Service built
// without WithImageViews.
var ErrNoImageViews = errors.New("serving: no image views store configured")

// AddImageViews encodes photos with the served image model and stores
// them as extra views of their products under source (replacing a view of
// the same product and reference). Photos are encoded concurrently, so the
// encoder's batcher gathers them.
func (s *Service) AddImageViews(ctx context.Context, source string, photos []ViewPhoto) error {
	if s.d.ImageEncoder == nil {
		return ErrNoImageModel
	}
	if s.photo.views == nil {
		return ErrNoImageViews
	}
	vs := make([]records.ImageView, len(photos))
	errs := make([]error, len(photos))
	var wg sync.WaitGroup
	for i, p := range photos {
		wg.Go(func() {
			vs[i] = records.ImageView{ProductID: p.ProductID, View: p.View, Source: source}
			vs[i].Vector, errs[i] = s.d.ImageEncoder.Encode(ctx, p.Image)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("view %s: %w", photos[i].View, err)
		}
	}
	defer s.invalidatePhotos()
	return s.photo.views.PutImageViews(ctx, s.d.ImageEncoder.Key(), vs)
}

// RemoveImageViews deletes the served image model's extra views from
// source and returns how many there were.
func (s *Service) RemoveImageViews(ctx context.Context, source string) (int64, error) {
	if s.d.ImageEncoder == nil {
		return 0, ErrNoImageModel
	}
	if s.photo.views == nil {
		return 0, ErrNoImageViews
	}
	defer s.invalidatePhotos()
	return s.photo.views.DeleteImageViews(ctx, s.d.ImageEncoder.Key(), source)
}
