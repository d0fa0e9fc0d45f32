package speech

import (
	"context"
	"fmt"
	"time"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/extractors/audioprep"
	"github.com/vitrinehq/vitrine/models"
)

// Transcribe decodes a WAV file (any rate and sample format audioprep
// reads, resampled to 16 kHz mono) with the catalog model: its readings,
// best first (Transcript.Readings), and the first one's confidence.
// Unreadable audio fails with audioprep's errors (ErrEmpty,
// ErrUnsupportedFormat, ErrCorrupt, ErrTooLong), wrapped. It is
// serving.Transcriber.
func (r *Recognizer) Transcribe(ctx context.Context, wav []byte) ([]string, float64, error) {
	p, err := audioprep.New(models.AudioPrep{SampleRate: SampleRate, MaxSeconds: r.maxSeconds}, audioprep.WithMaxBytes(r.maxBytes))
	if err != nil {
		return nil, 0, err
	}
	chunks, err := p.Prepare(ctx, wav)
	if err != nil {
		return nil, 0, fmt.Errorf("speech: %w", err)
	}
	t, err := r.Recognize(ctx, chunks[0], Catalog)
	return t.Readings, t.Confidence, err
}

// Products is what a Follower reads of the catalog (*store.Store is one).
type Products interface {
	// ProductsAfter pages through the live products in id order.
	ProductsAfter(ctx context.Context, after string, limit int) ([]catalog.Product, error)
	// ProductChangeSeqBefore with a time in the future gives the change
	// log's last sequence number.
	ProductChangeSeqBefore(ctx context.Context, t time.Time) (int64, error)
}

// Phrases are what the catalog model learns of a product: its title, its
// brand and each of its category names.
func Phrases(p catalog.Product) []string {
	out := []string{p.Title}
	if p.Brand != "" {
		out = append(out, p.Brand)
	}
	return append(out, p.Category...)
}

// CatalogPhrases reads every live product's phrases.
func CatalogPhrases(ctx context.Context, src Products) ([]string, error) {
	var out []string
	after := ""
	for {
		ps, err := src.ProductsAfter(ctx, after, 1000)
		if err != nil {
			return nil, err
		}
		if len(ps) == 0 {
			return out, nil
		}
		for _, p := range ps {
			out = append(out, Phrases(p)...)
		}
		after = ps[len(ps)-1].ID
	}
}

// Follow rebuilds the catalog model from src whenever the products change
// log has advanced past seq (the number a first Sync returned; -1 builds
// at once), checking every poll, until ctx ends (it returns nil then). A
// failed build is logged and retried at the next poll. Call it in a
// goroutine.
func (r *Recognizer) Follow(ctx context.Context, src Products, seq int64, poll time.Duration) error {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		next, err := r.Sync(ctx, src, seq)
		if err != nil {
			r.log.Warn("catalog speech model not rebuilt", "err", err)
		} else {
			seq = next
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Sync rebuilds the catalog model from src when the change log's last
// sequence number differs from seq, and returns the number it built at.
func (r *Recognizer) Sync(ctx context.Context, src Products, seq int64) (int64, error) {
	last, err := src.ProductChangeSeqBefore(ctx, time.Now().Add(24*time.Hour))
	if err != nil {
		return seq, err
	}
	if last == seq {
		return seq, nil
	}
	phrases, err := CatalogPhrases(ctx, src)
	if err != nil {
		return seq, err
	}
	if len(phrases) == 0 {
		return last, nil // an empty catalog: the general model alone
	}
	if err := r.Build(ctx, phrases); err != nil {
		return seq, err
	}
	return last, nil
}
