package indexer

import (
	"fmt"
	"io"
)

// Text says what a backfill did, as `vitrine backfill` prints it: the
// space's counts and the models run, then whether it is active (activate)
// or how to activate it; or that the definition already had a space. A
// reduced space's line says what its reduction keeps.
func (rep BackfillReport) Text(w io.Writer, activate bool) error {
	sp := rep.Space
	if r := rep.Reduction; r != nil {
		fit := "fitted"
		if r.Reused {
			fit = "stored with the space, fitted"
		}
		fmt.Fprintf(w, "reduced %d -> %d dimensions by a PCA %s on %d products: %.1f%% of the variance kept, recall@%d against the full vectors %.3f (exact search, %d of the sample's products as queries)\n",
			r.FullDim, r.Dim, fit, r.Sample, 100*r.Explained, ReduceRecallK, r.Recall, min(ReduceQueries, r.Sample))
	}
	if rep.Keypoints > 0 {
		fmt.Fprintf(w, "keypoints of %d catalog images extracted (image.verify_top)\n", rep.Keypoints)
	}
	if !rep.Finished {
		_, err := fmt.Fprintf(w, "vector space %d already holds this definition (%s); nothing to do\n", sp.Version, sp.State)
		return err
	}
	fmt.Fprintf(w, "vector space %d (%d dimensions, %s): %d vectors written, %d up to date, %d products without usable input; models run: %v\n",
		sp.Version, sp.Dim, sp.Storage, rep.Written, rep.UpToDate, rep.Rejected, rep.Encoded)
	if activate {
		_, err := fmt.Fprintf(w, "vector space %d is ready and active\n", sp.Version)
		return err
	}
	_, err := fmt.Fprintf(w, "vector space %d is ready; activate it with `vitrine vectors activate %d`\n", sp.Version, sp.Version)
	return err
}
