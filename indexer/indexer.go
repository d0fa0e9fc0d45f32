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
	"math"
	"strings"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/fusion"
	"github.com/vitrinehq/vitrine/models"
	"github.com/vitrinehq/vitrine/records"
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
	stats := Stats{Encoded: map[string]int{}, Reused: map[string]int{}}
	spec, err := fusion.ParseSpec(space.Spec)
	if err != nil {
		return nil, stats, fmt.Errorf("space %d: %w", space.Version, err)
	}
	for _, c := range spec.Components {
		enc, ok := ix.encoders[c.Model]
		if !ok {
			return nil, stats, fmt.Errorf("%w: %s (space %d)", ErrMissingEncoder, c.Model, space.Version)
		}
		if enc.Dim() != c.Dim {
			return nil, stats, fmt.Errorf("model %s gives %d dimensions, space %d expects %d", c.Model, enc.Dim(), space.Version, c.Dim)
		}
	}
	ids := make([]string, len(products))
	for i, p := range products {
		ids[i] = p.ID
	}
	stored, err := ix.store.Embeddings(ctx, ids)
	if err != nil {
		return nil, stats, err
	}
	built, err := ix.store.VectorSourceHashes(ctx, space.Version, ids)
	if err != nil {
		return nil, stats, err
	}

	results := make([]Result, len(products))
	vecs := make([]map[string][]float32, len(products))
	hashes := make([]map[string][]byte, len(products))
	todo := map[string][]work{}
	for i, p := range products {
		results[i].ProductID = p.ID
		vecs[i], hashes[i] = map[string][]float32{}, map[string][]byte{}
		for _, c := range spec.Components {
			key, ok := inputKey(p, models.Modality(c.Modality), ix.maxImages)
			if !ok {
				continue
			}
			h := inputHash(c.Model, key)
			hashes[i][c.Model] = h
			if e, ok := stored[p.ID][c.Model]; ok && string(e.InputHash) == string(h) {
				vecs[i][c.Model] = e.Vector
				continue
			}
			todo[c.Model] = append(todo[c.Model], work{product: i, model: c.Model, hash: h})
		}
		if len(hashes[i]) == 0 {
			results[i].Outcome, results[i].Err = Rejected, fmt.Errorf("%w: the product has no text, image or audio for this space's models", fusion.ErrNoModality)
		}
	}

	// Skip products whose vector is already built from these inputs.
	skip := make([]bool, len(products))
	for i := range products {
		if results[i].Outcome == 0 && len(hashes[i]) > 0 {
			if h, ok := built[products[i].ID]; ok && string(h) == string(spec.SourceHash(hashes[i])) {
				skip[i] = true
				results[i].Outcome = UpToDate
			}
		}
	}

	var newEmb []records.Embedding
	for model, ws := range todo {
		enc := ix.encoders[model]
		var live []work
		for _, w := range ws {
			if skip[w.product] {
				continue
			}
			if err := ix.loadInputs(ctx, enc.Modality(), products[w.product], &w); err != nil {
				if ctx.Err() != nil {
					return nil, stats, ctx.Err()
				}
				results[w.product].Warnings = append(results[w.product].Warnings, fmt.Sprintf("%s: %v", model, err))
				delete(hashes[w.product], model)
				continue
			}
			live = append(live, w)
		}
		embs, err := ix.encode(ctx, enc, live, results, hashes, vecs)
		if err != nil {
			return nil, stats, err
		}
		stats.Encoded[model] += len(embs)
		stats.Reused[model] += len(ws) - len(live)
		newEmb = append(newEmb, embs...)
	}
	if err := ix.store.PutEmbeddings(ctx, newEmb); err != nil {
		return nil, stats, fmt.Errorf("store embeddings: %w", err)
	}

	var pvs []records.ProductVector
	for i, p := range products {
		if skip[i] || results[i].Outcome == Rejected {
			continue
		}
		v, err := spec.Fuse(vecs[i])
		if err != nil {
			results[i].Outcome = Rejected
			results[i].Err = fmt.Errorf("%w (%s)", err, strings.Join(results[i].Warnings, "; "))
			continue
		}
		results[i].Outcome = Indexed
		pvs = append(pvs, records.ProductVector{ProductID: p.ID, Vector: v, SourceHash: spec.SourceHash(hashes[i])})
	}
	if err := ix.store.PutProductVectors(ctx, space.Version, pvs); err != nil {
		return nil, stats, fmt.Errorf("store product vectors: %w", err)
	}
	return results, stats, nil
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
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	if n == 0 {
		return acc
	}
	if acc == nil {
		acc = make([]float32, len(v))
	}
	inv := 1 / math.Sqrt(n)
	for i, x := range v {
		acc[i] += float32(float64(x) * inv)
	}
	return acc
}
