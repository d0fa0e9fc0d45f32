package indexer

import (
	"context"
	"errors"
	"fmt"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/fusion"
	"github.com/vitrinehq/vitrine/fusion/reduce"
	"github.com/vitrinehq/vitrine/records"
)

// DefaultReduceSample is how many products, spread evenly over the
// catalog, a backfill fits a reduction on.
const DefaultReduceSample = 20_000

// Recall of a fitted reduction against the full vectors: ReduceQueries
// sample products as queries, their ReduceRecallK nearest others.
const (
	ReduceQueries = 200
	ReduceRecallK = 10
)

// ErrBadReduce means the reduction asked of a backfill cannot be fitted:
// as many dimensions as the full vectors, or more than the sample allows.
var ErrBadReduce = errors.New("invalid --reduce (fusion.reduce)")

// ReductionReport says what a backfill's reduction keeps of the full fused
// vectors.
type ReductionReport struct {
	FullDim int
	Dim     int
	// Explained is the share of the sample's variance the projection keeps.
	Explained float64
	// Recall is the recall@ReduceRecallK of the reduced vectors against the
	// full ones on the sample (exact search, ReduceQueries products as
	// queries).
	Recall float64
	Sample int
	// Reused: the fit is the one stored with the space being resumed.
	Reused bool
}

// reductionReport is the report of spec's fitted reduction (nil without
// one).
func reductionReport(spec fusion.Spec, reused bool) *ReductionReport {
	if !spec.Fitted() {
		return nil
	}
	r := spec.Reduce
	return &ReductionReport{FullDim: spec.FullDim(), Dim: r.Dim, Explained: r.PCA.Explained, Recall: r.Recall, Sample: r.Sample, Reused: reused}
}

// checkReduce refuses a reduction to as many dimensions as the full fused
// vectors or more.
func checkReduce(spec fusion.Spec) error {
	if spec.Reduce != nil && (spec.Reduce.Dim < 1 || spec.Reduce.Dim >= spec.FullDim()) {
		return fmt.Errorf("%w: %d dimensions, want from 1 to fewer than the fused vectors' %d", ErrBadReduce, spec.Reduce.Dim, spec.FullDim())
	}
	return nil
}

// fitReduction fuses a sample of the catalog at full dimension (reusing
// stored embeddings, storing the ones it encodes for the backfill to
// reuse), fits spec's PCA on it and measures its recall against the full
// vectors.
func (ix *Indexer) fitReduction(ctx context.Context, st SpaceStore, spec fusion.Spec, o BackfillOptions) (fusion.Spec, error) {
	k := spec.Reduce.Dim
	ix.log.Info("fitting the reduction", "from", spec.FullDim(), "to", k, "sample_at_most", o.SampleSize)
	sample, err := ix.fullSample(ctx, st, spec.Full(), o)
	if err != nil {
		return spec, err
	}
	if len(sample)-1 < k {
		return spec, fmt.Errorf("%w: %d dimensions need a sample of at least %d products with vectors, there are %d", ErrBadReduce, k, k+1, len(sample))
	}
	p, err := reduce.Fit(sample, k)
	if err != nil {
		return spec, err
	}
	recall, err := reduce.Recall(sample, p, ReduceQueries, min(ReduceRecallK, len(sample)-1))
	if err != nil {
		return spec, err
	}
	return spec.WithFit(p, len(sample), recall)
}

// fullSample is the full fused vectors of up to o.SampleSize products,
// every n-th in id order so that the sample spans the catalog.
func (ix *Indexer) fullSample(ctx context.Context, st SpaceStore, full fusion.Spec, o BackfillOptions) ([][]float32, error) {
	total, err := st.CountProducts(ctx)
	if err != nil {
		return nil, err
	}
	step := max(1, (total+int64(o.SampleSize)-1)/int64(o.SampleSize))
	var out [][]float32
	var after string
	var seen int64
	for len(out) < o.SampleSize {
		ps, err := st.ProductsAfter(ctx, after, o.BatchSize)
		if err != nil || len(ps) == 0 {
			return out, err
		}
		var picked []catalog.Product
		for _, p := range ps {
			if seen%step == 0 && len(out)+len(picked) < o.SampleSize {
				picked = append(picked, p)
			}
			seen++
		}
		after = ps[len(ps)-1].ID
		vs, err := ix.fuseFull(ctx, full, picked)
		if err != nil {
			return nil, err
		}
		out = append(out, vs...)
	}
	return out, nil
}

// fuseFull is the fused vectors of products under spec (no reduction), for
// those that have one; embeddings it had to encode are stored.
func (ix *Indexer) fuseFull(ctx context.Context, spec fusion.Spec, products []catalog.Product) ([][]float32, error) {
	if len(products) == 0 {
		return nil, nil
	}
	if err := ix.checkEncoders(spec); err != nil {
		return nil, err
	}
	ps, err := ix.encodePass(ctx, spec, 0, products)
	if err != nil {
		return nil, err
	}
	pvs := ps.fuse()
	out := make([][]float32, len(pvs))
	for i, pv := range pvs {
		out[i] = pv.Vector
	}
	return out, nil
}

// findSpace is the space, not retired, that already holds spec's
// definition (a reduction matching by dimension, whatever its fit), with
// its stored spec.
func findSpace(ctx context.Context, st SpaceStore, spec fusion.Spec) (records.Space, fusion.Spec, bool, error) {
	spaces, err := st.ListSpaces(ctx)
	if err != nil {
		return records.Space{}, spec, false, err
	}
	for _, s := range spaces {
		if s.State == records.SpaceRetired || !spec.SameAs(s.Spec) {
			continue
		}
		stored, err := fusion.ParseSpec(s.Spec)
		if err != nil {
			return s, spec, false, fmt.Errorf("space %d: %w", s.Version, err)
		}
		return s, stored, true, nil
	}
	return records.Space{}, spec, false, nil
}
