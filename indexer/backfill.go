package indexer

import (
	"context"
	"fmt"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/fusion"
	"github.com/vitrinehq/vitrine/records"
)

// SpaceStore is what a backfill needs beyond Store.
type SpaceStore interface {
	Store
	ListSpaces(ctx context.Context) ([]records.Space, error)
	CreateSpace(ctx context.Context, ns records.NewSpace) (records.Space, error)
	BuildSpaceIndex(ctx context.Context, version int) error
	SetSpaceState(ctx context.Context, version int, state records.SpaceState) error
	ActivateSpace(ctx context.Context, version int) error
	CountProducts(ctx context.Context) (int64, error)
	ProductsAfter(ctx context.Context, after string, limit int) ([]catalog.Product, error)
}

// BackfillOptions configure Backfill.
type BackfillOptions struct {
	BatchSize int
	Activate  bool
	// Progress is called with (products done, total) during each pass.
	Progress func(done, total int64)
	// SampleSize is how many products a reduction is fitted on (default
	// DefaultReduceSample).
	SampleSize int
}

// BackfillReport says what a backfill did.
type BackfillReport struct {
	Space    records.Space
	Resumed  bool
	Finished bool // false: the space already held this definition
	// Keypoints is how many catalog images' keypoints the backfill
	// extracted (WithKeypoints): those of products encoded, and those
	// missing from a catalog indexed before verification was on, which a
	// backfill of an unchanged space extracts too.
	Keypoints int
	Written   int
	UpToDate  int
	Rejected  int
	Encoded   map[string]int
	// Reduction is what the space's reduction keeps (nil: none).
	Reduction *ReductionReport
}

// Backfill builds (or resumes) a vector space for spec beside the active
// one, which keeps serving: every live product is encoded and fused (reusing
// stored embeddings whose input is unchanged), the HNSW index is built once
// at the end, a catch-up pass picks up products changed meanwhile, and the
// space is marked ready and, if asked, activated in one transaction.
//
// With a reduction in spec, a new space's PCA is first fitted on the full
// fused vectors of up to o.SampleSize products (see fitReduction) and
// stored with the space; a resumed space keeps the fit it was created with.
func Backfill(ctx context.Context, st SpaceStore, ix *Indexer, spec fusion.Spec, o BackfillOptions) (BackfillReport, error) {
	if o.BatchSize <= 0 {
		o.BatchSize = 256
	}
	if o.SampleSize <= 0 {
		o.SampleSize = DefaultReduceSample
	}
	rep := BackfillReport{Encoded: map[string]int{}}
	if err := checkReduce(spec); err != nil {
		return rep, err
	}
	sp, stored, found, err := findSpace(ctx, st, spec)
	if err != nil {
		return rep, err
	}
	if found {
		rep.Space, rep.Resumed, rep.Reduction = sp, sp.State == records.SpaceBuilding, reductionReport(stored, true)
		if !rep.Resumed {
			return rep, fillKeypoints(ctx, st, ix, sp, o, &rep)
		}
	} else {
		if spec.Reduce != nil {
			if spec, err = ix.fitReduction(ctx, st, spec, o); err != nil {
				return rep, err
			}
			rep.Reduction = reductionReport(spec, false)
		}
		rep.Space, err = st.CreateSpace(ctx, records.NewSpace{Name: "backfill", Spec: spec.JSON(), Dim: spec.Dim(), DeferIndex: true})
		if err != nil {
			return rep, err
		}
	}
	if err := backfillPass(ctx, st, ix, rep.Space, o, &rep); err != nil {
		return rep, fmt.Errorf("backfill of space %d stopped (run it again to resume): %w", rep.Space.Version, err)
	}
	ix.log.Info("building HNSW index", "space", rep.Space.Version)
	if err := st.BuildSpaceIndex(ctx, rep.Space.Version); err != nil {
		return rep, err
	}
	if err := backfillPass(ctx, st, ix, rep.Space, o, &rep); err != nil {
		return rep, err
	}
	if err := st.SetSpaceState(ctx, rep.Space.Version, records.SpaceReady); err != nil {
		return rep, err
	}
	rep.Space.State = records.SpaceReady
	if o.Activate {
		if err := st.ActivateSpace(ctx, rep.Space.Version); err != nil {
			return rep, err
		}
		rep.Space.State = records.SpaceActive
	}
	rep.Finished = true
	return rep, nil
}

// fillKeypoints passes over a space that already holds the definition
// when the indexer extracts keypoints: every product is up to date, so
// the pass only extracts the keypoints missing (a catalog ingested before
// image.verify_top was on). Its counts other than Keypoints are dropped:
// the report says the space had nothing to do.
func fillKeypoints(ctx context.Context, st SpaceStore, ix *Indexer, sp records.Space, o BackfillOptions, rep *BackfillReport) error {
	if ix.keypoints == nil {
		return nil
	}
	pass := BackfillReport{Encoded: map[string]int{}}
	if err := backfillPass(ctx, st, ix, sp, o, &pass); err != nil {
		return fmt.Errorf("keypoints of space %d's products: %w", sp.Version, err)
	}
	rep.Keypoints = pass.Keypoints
	return nil
}

func backfillPass(ctx context.Context, st SpaceStore, ix *Indexer, sp records.Space, o BackfillOptions, rep *BackfillReport) error {
	total, err := st.CountProducts(ctx)
	if err != nil {
		return err
	}
	var after string
	var done int64
	for {
		ps, err := st.ProductsAfter(ctx, after, o.BatchSize)
		if err != nil {
			return err
		}
		if len(ps) == 0 {
			return nil
		}
		res, stats, err := ix.Index(ctx, sp, ps)
		if err != nil {
			return err
		}
		for m, n := range stats.Encoded {
			rep.Encoded[m] += n
		}
		rep.Keypoints += stats.Keypoints
		for _, r := range res {
			switch r.Outcome {
			case Indexed:
				rep.Written++
			case UpToDate:
				rep.UpToDate++
			case Rejected:
				rep.Rejected++
			}
		}
		after = ps[len(ps)-1].ID
		done += int64(len(ps))
		if o.Progress != nil {
			o.Progress(done, total)
		}
	}
}
