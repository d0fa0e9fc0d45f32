package indexer

import (
	"context"
	"fmt"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/extractors/keypoints"
	"github.com/vitrinehq/vitrine/models"
	"github.com/vitrinehq/vitrine/records"
)

// KeypointStore is the part of a Store that keeps the local features of
// catalog images, which search by photo verifies its top candidates
// against (*store.Store is one).
type KeypointStore interface {
	WithoutCatalogKeypoints(ctx context.Context, ids []string) ([]string, error)
	PutImageKeypoints(ctx context.Context, ks []records.ImageKeypoints) error
}

// WithKeypoints, when on and the Store is a KeypointStore, extracts the
// keypoints of each product's first image when the product's image
// embedding is encoded or its keypoints are missing (a catalog indexed
// before verification was switched on: a backfill fills them in). Off by
// default: SIFT costs tens of milliseconds an image, which only
// image.verify_top pays back.
func WithKeypoints(on bool) Option {
	return func(ix *Indexer) {
		ix.keypoints = nil
		if ks, ok := ix.store.(KeypointStore); ok && on {
			ix.keypoints = ks
		}
	}
}

// indexKeypoints extracts and stores the keypoints of the pass's products
// that need them. A product whose image cannot be loaded or decoded is
// skipped with a log line (its embedding's warning already tells why);
// only the store's failure fails the pass.
func (ix *Indexer) indexKeypoints(ctx context.Context, ps *pass) error {
	ks := ix.keypoints
	if ks == nil || !ps.hasImageModel(ix) {
		return nil
	}
	need, err := ix.keypointsNeeded(ctx, ks, ps)
	if err != nil || len(need) == 0 {
		return err
	}
	ex := keypoints.NewExtractor()
	var out []records.ImageKeypoints
	for _, p := range need {
		b, err := ix.firstImage(ctx, ps, p)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			ix.log.Warn("keypoints: loading the image", "product", p.ID, "err", err)
			continue
		}
		f, err := ex.Extract(b)
		if err != nil {
			ix.log.Warn("keypoints: extracting", "product", p.ID, "err", err)
			continue
		}
		out = append(out, records.ImageKeypoints{ProductID: p.ID, View: records.ViewCatalog, Source: records.ViewCatalog, Data: keypoints.Marshal(f)})
	}
	if err := ks.PutImageKeypoints(ctx, out); err != nil {
		return fmt.Errorf("store keypoints: %w", err)
	}
	ps.stats.Keypoints += len(out)
	return nil
}

// firstImage is p's first image: the bytes the pass loaded to encode it,
// else loaded now (its embedding was reused, its keypoints are missing).
func (ix *Indexer) firstImage(ctx context.Context, ps *pass, p catalog.Product) ([]byte, error) {
	if b, ok := ps.images[p.ID]; ok {
		return b, nil
	}
	return ix.media.Load(ctx, p.MediaOf(catalog.MediaImage)[0].URI)
}

// hasImageModel reports whether the pass's space has an image model.
func (ps *pass) hasImageModel(ix *Indexer) bool {
	for _, c := range ps.spec.Components {
		if e, ok := ix.encoders[c.Model]; ok && e.Modality() == models.Image {
			return true
		}
	}
	return false
}

// keypointsNeeded is the pass's products with an image whose image
// embedding was encoded in this pass or whose keypoints are missing.
func (ix *Indexer) keypointsNeeded(ctx context.Context, ks KeypointStore, ps *pass) ([]catalog.Product, error) {
	encoded := map[int]bool{}
	for model, ws := range ps.todo {
		if e, ok := ix.encoders[model]; ok && e.Modality() == models.Image {
			for _, w := range ws {
				_, ok := ps.hashes[w.product][model]
				encoded[w.product] = encoded[w.product] || (ok && !ps.skip[w.product])
			}
		}
	}
	var ids []string
	at := map[string]int{}
	for i, p := range ps.products {
		if len(p.MediaOf(catalog.MediaImage)) > 0 && ps.results[i].Outcome != Rejected {
			ids = append(ids, p.ID)
			at[p.ID] = i
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	missing, err := ks.WithoutCatalogKeypoints(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("keypoints: %w", err)
	}
	for _, id := range missing {
		encoded[at[id]] = true
	}
	var out []catalog.Product
	for _, id := range ids {
		if encoded[at[id]] {
			out = append(out, ps.products[at[id]])
		}
	}
	return out, nil
}
