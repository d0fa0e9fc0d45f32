package quantize

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/vitrinehq/vitrine/models"
	"github.com/vitrinehq/vitrine/models/compare"
)

// Text writes what Install did to src, as `vitrine models quantize` prints
// it: one row per int8 weight with its sizes, the totals and the model
// file's size before and after, the op types kept in fp32 and why, and
// the files written.
func (res *Installed) Text(w io.Writer, src models.Manifest) error {
	rep := res.Report
	fmt.Fprintf(w, "%s -> %s: %d weights as int8 (%s), %d bias adds folded\n\n",
		src.Key(), res.Manifest.Key(), len(rep.Weights), OpDynamicQuantizeMatMul, rep.FoldedBias)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "WEIGHT\tSHAPE\tSCALES\tFP32\tINT8\tRATIO\t")
	for _, wt := range rep.Weights {
		name := wt.Name
		if wt.FP32Kept {
			name += " (fp32 copy kept: another node reads it)"
		}
		fmt.Fprintf(tw, "%s\t%dx%d\t%d\t%s\t%s\t%.1f%%\t\n", name, wt.Rows, wt.Cols, wt.Scales,
			compare.ByteSize(wt.FP32Bytes), compare.ByteSize(wt.Int8Bytes), 100*wt.Ratio())
	}
	fp32, int8 := rep.WeightBytes()
	fmt.Fprintf(tw, "total (%d weights)\t\t\t%s\t%s\t%.1f%%\t\n", len(rep.Weights), compare.ByteSize(fp32), compare.ByteSize(int8), 100*float64(int8)/float64(fp32))
	fmt.Fprintf(tw, "model file %s\t\t\t%s\t%s\t%.1f%%\t\n", src.Graph(), compare.ByteSize(rep.BytesBefore), compare.ByteSize(rep.BytesAfter),
		100*float64(rep.BytesAfter)/float64(rep.BytesBefore))
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nkept in fp32:")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range rep.FP32 {
		fmt.Fprintf(tw, "  %s\t×%d\t%s\n", c.OpType, c.Count, c.Reason)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\nwrote %s\nwrote %s\n", res.ManifestPath, res.Graph)
	return err
}
