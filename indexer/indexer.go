// Package indexer encodes products with a vector space's models and writes
// their per-model embeddings and fused vectors, re-running a model only when
// its input changed. Ingestion, the job workers and backfill all use it.
package indexer

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/fusion"
	"github.com/vitrinehq/vitrine/models"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/vecmath"
)

// Encoder runs one model over a batch of inputs of its modality: UTF-8 text
// for text models, file bytes for image and audio models.
type Encoder interface {
	Key() string // manifest name@version
	Modality() models.Modality
	Dim() int
	// EncodeBatch returns one vector per input. A bad input (corrupt image)
	// sets only its entry in errs; err reports a failure of the whole call.
	EncodeBatch(ctx context.Context, inputs [][]byte) (vecs [][]float32, errs []error, err error)
}

// MediaLoader reads a media reference (path or URL).
type MediaLoader interface {
	Load(ctx context.Context, ref string) ([]byte, error)
}

// Store is what the indexer needs from storage.
type Store interface {
	Embeddings(ctx context.Context, ids []string) (map[string]map[string]records.Embedding, error)
	VectorSourceHashes(ctx context.Context, version int, ids []string) (map[string][]byte, error)
	PutEmbeddings(ctx context.Context, es []records.Embedding) error
	PutProductVectors(ctx context.Context, version int, vs []records.ProductVector) error
}

// Indexer encodes and fuses products.
type Indexer struct {
	store    Store
	media    MediaLoader
	encoders map[string]Encoder
	log      *slog.Logger
	// maxImages bounds how many images of one product are encoded and
	// averaged into its image embedding.
	maxImages int
	// keypoints stores catalog images' keypoints when WithKeypoints is on.
	keypoints KeypointStore
}

// Option configures an Indexer.
type Option func(*Indexer)

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(ix *Indexer) { ix.log = l } }

// WithMaxImages bounds the images averaged per product (default 4).
func WithMaxImages(n int) Option { return func(ix *Indexer) { ix.maxImages = max(1, n) } }

// New returns an Indexer using the given encoders (by key).
func New(s Store, media MediaLoader, encoders []Encoder, opts ...Option) *Indexer {
	ix := &Indexer{store: s, media: media, encoders: map[string]Encoder{}, log: slog.New(slog.DiscardHandler), maxImages: 4}
	for _, e := range encoders {
		ix.encoders[e.Key()] = e
	}
	for _, o := range opts {
		o(ix)
	}
	return ix
}

// ErrMissingEncoder means a space names a model that is not loaded.
var ErrMissingEncoder = errors.New("model of the vector space is not loaded")

// Outcome is what happened to one product.
type Outcome int

// Outcomes of indexing one product.
const (
	Indexed  Outcome = iota + 1 // vector written
	UpToDate                    // stored vector already built from the same inputs
	Rejected                    // no usable modality: see Result.Err
)

// Result is one product's outcome; Warnings name modalities that failed
// while others succeeded (an unreadable image of a product with text).
type Result struct {
	ProductID string
	Outcome   Outcome
	Err       error
	Warnings  []string
}

// Stats counts model work across a call.
type Stats struct {
	Encoded map[string]int // model key -> inputs encoded
	Reused  map[string]int // model key -> embeddings reused
	// Keypoints is how many catalog images' keypoints were extracted
	// (WithKeypoints).
	Keypoints int
}

// TextOf is the text a product's text models encode: title, brand,
// category path and description.
func TextOf(p catalog.Product) string {
	parts := []string{p.Title}
	if p.Brand != "" {
		parts = append(parts, p.Brand)
	}
	if len(p.Category) > 0 {
		parts = append(parts, strings.Join(p.Category, " "))
	}
	if p.Description != "" {
		parts = append(parts, p.Description)
	}
	return strings.Join(parts, ". ")
}

// inputKey is what identifies a model's input for a product without
// reading media: the text itself, or the media references.
func inputKey(p catalog.Product, m models.Modality, maxImages int) (string, bool) {
	switch m {
	case models.Text:
		return TextOf(p), true
	case models.Image:
		refs := p.MediaOf(catalog.MediaImage)
		if len(refs) == 0 {
			return "", false
		}
		refs = refs[:min(len(refs), maxImages)]
		var b strings.Builder
		for _, r := range refs {
			b.WriteString(r.URI)
			b.WriteByte('\n')
		}
		return b.String(), true
	case models.Audio:
		refs := p.MediaOf(catalog.MediaAudio)
		if len(refs) == 0 {
			return "", false
		}
		return refs[0].URI, true
	}
	return "", false
}

func inputHash(model, key string) []byte {
	h := sha256.Sum256([]byte(model + "\x00" + key))
	return h[:]
}

// work is one model input to encode for one product.
type work struct {
	product int
	model   string
	hash    []byte
	items   [][]byte // one input, or several images to average
}

// Index brings products' vectors in space up to date. Models whose input is
// unchanged are not re-run; products whose fused vector is already built
// from the same inputs are not rewritten. It fails as a whole only when the
// database or a model fails; bad product input is reported per product.
func (ix *Indexer) Index(ctx context.Context, space records.Space, products []catalog.Product) ([]Result, Stats, error) {
	spec, err := ix.spaceSpec(space)
	if err != nil {
		return nil, newStats(), err
	}
	ps, err := ix.encodePass(ctx, spec, space.Version, products)
	if err != nil {
		return nil, ps.stats, err
	}
	if err := ix.store.PutProductVectors(ctx, space.Version, ps.fuse()); err != nil {
		return nil, ps.stats, fmt.Errorf("store product vectors: %w", err)
	}
	return ps.results, ps.stats, nil
}

// encodePass plans products under spec (reusing stored embeddings whose
// input is unchanged and, with space not 0, skipping products whose
// vector in that space is already built from these inputs), encodes the
// inputs left and stores the new embeddings: all of an Index call but the
// fused vectors' write. The pass it returns is never nil (its stats hold
// what was done before an error).
func (ix *Indexer) encodePass(ctx context.Context, spec fusion.Spec, space int, products []catalog.Product) (*pass, error) {
	ids := make([]string, len(products))
	for i, p := range products {
		ids[i] = p.ID
	}
	stored, err := ix.store.Embeddings(ctx, ids)
	if err != nil {
		return &pass{stats: newStats()}, err
	}
	var built map[string][]byte
	if space != 0 {
		if built, err = ix.store.VectorSourceHashes(ctx, space, ids); err != nil {
			return &pass{stats: newStats()}, err
		}
	}
	ps := ix.plan(spec, products, stored, built)
	newEmb, err := ix.encodeAll(ctx, ps)
	if err != nil {
		return ps, err
	}
	if err := ix.store.PutEmbeddings(ctx, newEmb); err != nil {
		return ps, fmt.Errorf("store embeddings: %w", err)
	}
	return ps, ix.indexKeypoints(ctx, ps)
}

// newStats is an empty Stats, ready to count.
func newStats() Stats { return Stats{Encoded: map[string]int{}, Reused: map[string]int{}} }

// spaceSpec parses space's fusion spec and checks that every model it
// names is loaded with the dimension the space expects.
func (ix *Indexer) spaceSpec(space records.Space) (fusion.Spec, error) {
	spec, err := fusion.ParseSpec(space.Spec)
	if err != nil {
		return spec, fmt.Errorf("space %d: %w", space.Version, err)
	}
	if err := ix.checkEncoders(spec); err != nil {
		return spec, fmt.Errorf("%w (space %d)", err, space.Version)
	}
	return spec, nil
}

// checkEncoders checks that every model spec names is loaded with the
// dimension spec expects.
func (ix *Indexer) checkEncoders(spec fusion.Spec) error {
	for _, c := range spec.Components {
		enc, ok := ix.encoders[c.Model]
		if !ok {
			return fmt.Errorf("%w: %s", ErrMissingEncoder, c.Model)
		}
		if enc.Dim() != c.Dim {
			return fmt.Errorf("model %s gives %d dimensions, the space expects %d", c.Model, enc.Dim(), c.Dim)
		}
	}
	return nil
}

// pass is the state of one Index call, indexed like its products: each
// product's result, the model vectors known so far, the input hashes its
// source hash is made of, and whether its stored vector is already current.
type pass struct {
	spec     fusion.Spec
	products []catalog.Product
	results  []Result
	vecs     []map[string][]float32
	hashes   []map[string][]byte
	skip     []bool
	// todo lists, per model, the inputs with no stored embedding.
	todo  map[string][]work
	stats Stats
	// images holds the first image loaded for each product this pass
	// encoded, by product id, while keypoints are extracted too (so the
	// image is not loaded twice).
	images map[string][]byte
}

// plan reuses stored embeddings whose input is unchanged, lists the model
// inputs left to encode, rejects products with no usable modality and
// marks those whose fused vector is already built from these inputs.
func (ix *Indexer) plan(spec fusion.Spec, products []catalog.Product, stored map[string]map[string]records.Embedding, built map[string][]byte) *pass {
	n := len(products)
	ps := &pass{spec: spec, products: products, results: make([]Result, n), vecs: make([]map[string][]float32, n),
		hashes: make([]map[string][]byte, n), skip: make([]bool, n), todo: map[string][]work{}, stats: newStats(),
		images: map[string][]byte{}}
	for i, p := range products {
		ps.results[i].ProductID = p.ID
		ps.vecs[i], ps.hashes[i] = map[string][]float32{}, map[string][]byte{}
		for _, c := range spec.Components {
			key, ok := inputKey(p, models.Modality(c.Modality), ix.maxImages)
			if !ok {
				continue
			}
			h := inputHash(c.Model, key)
			ps.hashes[i][c.Model] = h
			if e, ok := stored[p.ID][c.Model]; ok && string(e.InputHash) == string(h) {
				ps.vecs[i][c.Model] = e.Vector
				continue
			}
			ps.todo[c.Model] = append(ps.todo[c.Model], work{product: i, model: c.Model, hash: h})
		}
		if len(ps.hashes[i]) == 0 {
			ps.results[i].Outcome, ps.results[i].Err = Rejected, fmt.Errorf("%w: the product has no text, image or audio for this space's models", fusion.ErrNoModality)
		}
	}
	// Skip products whose vector is already built from these inputs.
	for i := range products {
		if ps.results[i].Outcome == 0 && len(ps.hashes[i]) > 0 {
			if h, ok := built[products[i].ID]; ok && string(h) == string(spec.SourceHash(ps.hashes[i])) {
				ps.skip[i] = true
				ps.results[i].Outcome = UpToDate
			}
		}
	}
	return ps
}

// encodeAll loads and encodes the inputs left to encode, model by model,
// and returns the new embeddings. An input that cannot be loaded becomes a
// warning on its product, and the model drops out of that product's vector.
func (ix *Indexer) encodeAll(ctx context.Context, ps *pass) ([]records.Embedding, error) {
	var newEmb []records.Embedding
	for model, ws := range ps.todo {
		enc := ix.encoders[model]
		var live []work
		for _, w := range ws {
			if ps.skip[w.product] {
				continue
			}
			if err := ix.loadInputs(ctx, enc.Modality(), ps.products[w.product], &w); err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				ps.results[w.product].Warnings = append(ps.results[w.product].Warnings, fmt.Sprintf("%s: %v", model, err))
				delete(ps.hashes[w.product], model)
				continue
			}
			if ix.keypoints != nil && enc.Modality() == models.Image && len(w.items) > 0 {
				ps.images[ps.products[w.product].ID] = w.items[0]
			}
			live = append(live, w)
		}
		embs, err := ix.encode(ctx, enc, live, ps.results, ps.hashes, ps.vecs)
		if err != nil {
			return nil, err
		}
		ps.stats.Encoded[model] += len(embs)
		ps.stats.Reused[model] += len(ws) - len(live)
		newEmb = append(newEmb, embs...)
	}
	return newEmb, nil
}

// fuse builds the fused vector of every product that needs one; a product
// left with no model vector is rejected with its warnings as the reason.
func (ps *pass) fuse() []records.ProductVector {
	var pvs []records.ProductVector
	for i, p := range ps.products {
		if ps.skip[i] || ps.results[i].Outcome == Rejected {
			continue
		}
		v, err := ps.spec.Fuse(ps.vecs[i])
		if err != nil {
			ps.results[i].Outcome = Rejected
			ps.results[i].Err = fmt.Errorf("%w (%s)", err, strings.Join(ps.results[i].Warnings, "; "))
			continue
		}
		ps.results[i].Outcome = Indexed
		pvs = append(pvs, records.ProductVector{ProductID: p.ID, Vector: v, SourceHash: ps.spec.SourceHash(ps.hashes[i])})
	}
	return pvs
}

// loadInputs fills w.items: the text, or the bytes of the product's media.
func (ix *Indexer) loadInputs(ctx context.Context, m models.Modality, p catalog.Product, w *work) error {
	switch m {
	case models.Text:
		w.items = [][]byte{[]byte(TextOf(p))}
		return nil
	case models.Image, models.Audio:
		kind := catalog.MediaImage
		limit := ix.maxImages
		if m == models.Audio {
			kind, limit = catalog.MediaAudio, 1
		}
		refs := p.MediaOf(kind)
		refs = refs[:min(len(refs), limit)]
		for _, r := range refs {
			b, err := ix.media.Load(ctx, r.URI)
			if err != nil {
				return err
			}
			w.items = append(w.items, b)
		}
		return nil
	}
	return fmt.Errorf("unknown modality %q", m)
}

// encode runs one model over the work items (several images of a product
// are encoded together and averaged) and records vectors and failures.
func (ix *Indexer) encode(ctx context.Context, enc Encoder, ws []work, results []Result, hashes []map[string][]byte, vecs []map[string][]float32) ([]records.Embedding, error) {
	if len(ws) == 0 {
		return nil, nil
	}
	var inputs [][]byte
	for _, w := range ws {
		inputs = append(inputs, w.items...)
	}
	out, errs, err := enc.EncodeBatch(ctx, inputs)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", enc.Key(), err)
	}
	var embs []records.Embedding
	off := 0
	for _, w := range ws {
		n := len(w.items)
		var sum []float32
		var failures []string
		for j := off; j < off+n; j++ {
			if errs != nil && errs[j] != nil {
				failures = append(failures, errs[j].Error())
				continue
			}
			sum = addNormalised(sum, out[j])
		}
		off += n
		if sum == nil {
			results[w.product].Warnings = append(results[w.product].Warnings, fmt.Sprintf("%s: %s", enc.Key(), strings.Join(failures, "; ")))
			delete(hashes[w.product], w.model)
			continue
		}
		vecs[w.product][w.model] = sum
		embs = append(embs, records.Embedding{ProductID: results[w.product].ProductID, Model: w.model,
			Modality: string(enc.Modality()), InputHash: w.hash, Vector: sum})
	}
	return embs, nil
}

// addNormalised adds v/|v| to acc (a mean direction of several images;
// fusion renormalises).
func addNormalised(acc, v []float32) []float32 {
	n := vecmath.Norm(v)
	if n == 0 {
		return acc
	}
	if acc == nil {
		acc = make([]float32, len(v))
	}
	inv := 1 / n
	for i, x := range v {
		acc[i] += float32(float64(x) * inv)
	}
	return acc
}
