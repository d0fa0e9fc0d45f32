package throughput

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/extractors/keypoints"
	"github.com/vitrinehq/vitrine/indexer"
	"github.com/vitrinehq/vitrine/ingest"
	"github.com/vitrinehq/vitrine/models"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/store"
)

// Ingest is one configured Vitrine writing into one database, wired as
// `vitrine ingest` wires it: the store, a vector space, the indexer over
// the space's encoders, and ingestion's batch size.
type Ingest struct {
	Store   *store.Store
	Space   records.Space
	Indexer ingest.Indexer
	// Encoders are the space's models, which the baseline runs alone.
	Encoders []extractors.Encoder
	// Keypoints is on when the indexer also extracts the catalog images'
	// SIFT keypoints (image.verify_top > 0): the baseline then runs that
	// extractor too, on the same images, as the feature extractor it is.
	Keypoints bool
	BatchSize int
	// Concurrency is the batches in flight (0: ingest's default).
	Concurrency int
	Logger      *slog.Logger
	// Database is the database's name (its server processes' titles
	// hold it).
	Database string
}

// Run ingests a JSON Lines catalog through ingest.Run (parsing, upserts,
// encoding, fusion, embeddings and vectors written, indexes maintained)
// and insists that every product was stored fresh and indexed: a skipped
// or rejected product would flatter the rate. progress, when set, gets the
// rows seen after each batch.
func (h *Ingest) Run(ctx context.Context, data []byte, progress func(rows int)) (ingest.Summary, error) {
	// Image paths are absolute, so the catalog needs no directory.
	rd, err := ingest.NewReader(bytes.NewReader(data), ingest.JSONL, "")
	if err != nil {
		return ingest.Summary{}, err
	}
	var rejects bytes.Buffer
	// ingest's own deferral stays off: a live case measures the indexes
	// taking every vector, and a deferred case builds them itself after
	// the load (loadCase) to time the build apart.
	sum, err := ingest.Run(ctx, rd, ingest.Options{Space: h.Space, Writer: h.Store, Indexer: h.Indexer,
		BatchSize: h.BatchSize, Concurrency: h.Concurrency, Rejects: &rejects, Progress: progress, Logger: h.Logger,
		DeferIndexes: ingest.IndexDeferral{}})
	if err != nil {
		return sum, err
	}
	if sum.Inserted != sum.Rows || sum.Indexed != sum.Rows || sum.Rejected != 0 || sum.Warnings != 0 {
		return sum, fmt.Errorf("not every product was fresh and indexed: %+v\n%s", sum, rejects.String())
	}
	return sum, nil
}

// ModelInputs reads a catalog as ingest would and collects, per encoder of
// h.Encoders (outer index) and per product (inner index), what the indexer
// gives that encoder: indexer.TextOf for text, the first image's bytes for
// images. Each distinct file is read once.
func (h *Ingest) ModelInputs(ctx context.Context, data []byte) ([][][]byte, error) {
	rd, err := ingest.NewReader(bytes.NewReader(data), ingest.JSONL, "")
	if err != nil {
		return nil, err
	}
	media := ingest.NewMediaLoader()
	files := map[string][]byte{}
	out := make([][][]byte, len(h.Encoders))
	for {
		row, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		for i, e := range h.Encoders {
			var in []byte
			switch e.Modality() {
			case models.Text:
				in = []byte(indexer.TextOf(row.Product))
			case models.Image:
				refs := row.Product.MediaOf(catalog.MediaImage)
				if len(refs) == 0 {
					return nil, fmt.Errorf("product %s has no image", row.Product.ID)
				}
				uri := refs[0].URI
				if in = files[uri]; in == nil {
					if in, err = media.Load(ctx, uri); err != nil {
						return nil, err
					}
					files[uri] = in
				}
			default:
				return nil, fmt.Errorf("no ingest baseline input for %s (%s)", e.Key(), e.Modality())
			}
			out[i] = append(out[i], in)
		}
	}
}

// Encode runs products [lo, hi) of inputs (from ModelInputs) through every
// encoder with EncodeBatch, BatchSize products at a time, as the indexer
// gets them, and their images through the keypoint extractor when
// h.Keypoints is on.
func (h *Ingest) Encode(ctx context.Context, inputs [][][]byte, lo, hi int) error {
	batch := max(h.BatchSize, 1)
	var kp *keypoints.Extractor
	if h.Keypoints {
		kp = keypoints.NewExtractor()
	}
	for at := lo; at < hi; at += batch {
		end := min(at+batch, hi)
		for i, e := range h.Encoders {
			if err := EncodeBatch(ctx, e, inputs[i][at:end]); err != nil {
				return fmt.Errorf("%s: products %d to %d: %w", e.Key(), at, end-1, err)
			}
			if kp == nil || e.Modality() != models.Image {
				continue
			}
			for j, in := range inputs[i][at:end] {
				if _, err := kp.Extract(in); err != nil {
					return fmt.Errorf("keypoints: product %d: %w", at+j, err)
				}
			}
		}
	}
	return nil
}

// ModelRate measures the baseline: the encoders alone on the ingested
// products' inputs, already in memory, BatchSize products at a time
// (Encode), an item being one product through every model. It goes through
// the products in order, from the start again when it runs out, and stops
// after at least minTime once every product was encoded or maxTime has
// passed. The first batch is an untimed warm-up.
func (h *Ingest) ModelRate(ctx context.Context, inputs [][][]byte, minTime, maxTime time.Duration) (Result, error) {
	res := Result{Name: "models only"}
	n := 0
	if len(inputs) > 0 {
		n = len(inputs[0])
	}
	if n == 0 {
		return res, errors.New("no products to encode")
	}
	batch := max(h.BatchSize, 1)
	if err := h.Encode(ctx, inputs, 0, min(batch, n)); err != nil {
		return res, err
	}
	start := time.Now()
	at, done := 0, 0
	for {
		end := min(at+batch, n)
		if err := h.Encode(ctx, inputs, at, end); err != nil {
			return res, err
		}
		done += end - at
		at = end % n
		took := time.Since(start)
		if took >= minTime && (done >= n || took >= maxTime) {
			res.Items, res.Seconds = done, took.Seconds()
			res.PerSecond = float64(done) / took.Seconds()
			res.Rounds = []float64{res.PerSecond}
			return res, nil
		}
	}
}
