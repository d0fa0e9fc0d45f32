package search

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/report"
)

// Text writes rep as `vitrine eval search` prints it: the run's size, a
// row of nDCG@10, MRR@10 and Recall@100 per method, and how many queries
// had no vector list.
func Text(w io.Writer, rep Report) error {
	fmt.Fprintf(w, "text search: %d queries (%d without judgements skipped) over %d products, %.1fs\n",
		rep.Evaluated, rep.Skipped, rep.Products, rep.Seconds)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "method\tnDCG@10\tMRR@10\tRecall@100\t")
	for _, m := range rep.Methods {
		fmt.Fprintf(tw, "%s\t%.3f\t%.3f\t%.3f\t\n", m.Method, m.NDCG10, m.MRR10, m.Recall100)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if rep.NoVector > 0 {
		fmt.Fprintf(w, "%d queries have no word the text model knows: no vector list, hybrid is lexical alone\n", rep.NoVector)
	}
	return nil
}

// Plot draws recall@k and nDCG@k per method into a PNG at path.
func Plot(path string, rep Report) error {
	curves := make([]report.NamedCurve, len(rep.Methods))
	for i, m := range rep.Methods {
		curves[i] = report.NamedCurve{Method: m.Method, Curve: m.Curve}
	}
	return report.CurvePlot(path, fmt.Sprintf("Text search, %d queries", rep.Evaluated), curves)
}

// WriteGrocery builds the grocery test collection from the products
// (GroceryQueries) and writes its queries and judgements to the two paths;
// it returns how many queries it wrote.
func WriteGrocery(products []catalog.Product, queries, qrels string) (int, error) {
	qs, rel, err := GroceryQueries(products)
	if err != nil {
		return 0, err
	}
	if err := WriteQueries(queries, qs); err != nil {
		return 0, err
	}
	return len(qs), WriteQrels(qrels, qs, rel)
}
