package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/vitrinehq/vitrine/eval/labels"
	"github.com/vitrinehq/vitrine/eval/search"
	"github.com/vitrinehq/vitrine/models"
	"github.com/vitrinehq/vitrine/report"
)

// evalSearchOpts are the flags of `vitrine eval search`.
type evalSearchOpts struct {
	queries, qrels, json, md, plot string
	grocery                        bool
}

func newEvalSearchCmd(a *app) *cobra.Command {
	var o evalSearchOpts
	cmd := &cobra.Command{
		Use:   "search (--queries FILE --qrels FILE | --grocery)",
		Short: "nDCG@10, MRR@10 and Recall@100 of lexical, vector and hybrid text search",
		Long: `Run each query through the served search (the same use case and
configuration as GET /v1/search: server.lexical_weight, server.vector_weight,
the A/B experiment's control variant) over the ingested products, as an
anonymous shopper with no filters. Score three rankings read off each
search against graded judgements: its full-text list (lexical), its nearest
text-embedding list (vector) and the fused result the API returns (hybrid),
100 results each. Print nDCG@10, MRR@10 and Recall@100 per method.

Test collections are TREC-style: the queries file has "qid<TAB>text" lines,
the qrels file "qid 0 docid grade" lines (grade > 0 is relevant; nDCG uses the
grade as gain).

--grocery builds a collection from the ingested grocery catalog instead and
writes it to --queries and --qrels (default grocery.queries.tsv and
grocery.qrels): one query per product, its fine class name ("Golden
Delicious"; grade 2 for it, 1 for the rest of its coarse class), and one per
coarse class ("Apple"; grade 2 for each of its products).

--plot draws recall@k and nDCG@k for k = 1..20 per method into a PNG.`,
		Example: `  vitrine eval search --grocery --json search.json --md search.md --plot search.png
  vitrine eval search --queries topics.tsv --qrels qrels.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.evalSearch(cmd.Context(), cmd.OutOrStdout(), o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.queries, "queries", "", "queries, \"qid<TAB>text\" a line (written there with --grocery)")
	f.StringVar(&o.qrels, "qrels", "", "TREC judgements, \"qid 0 docid grade\" a line (written there with --grocery)")
	f.BoolVar(&o.grocery, "grocery", false, "build queries and judgements from the ingested grocery catalog first")
	f.StringVar(&o.json, "json", "", "write the report as JSON to this file")
	f.StringVar(&o.md, "md", "", "write the report as Markdown to this file")
	f.StringVar(&o.plot, "plot", "", "draw recall@k and nDCG@k (k = 1..20) per method into this PNG")
	return cmd
}

func (a *app) evalSearch(ctx context.Context, out io.Writer, o evalSearchOpts) error {
	if !o.grocery && (o.queries == "" || o.qrels == "") {
		return errors.New("give --queries and --qrels, or --grocery to build them from the ingested grocery catalog")
	}
	if o.grocery {
		o.queries, o.qrels = cmp.Or(o.queries, "grocery.queries.tsv"), cmp.Or(o.qrels, "grocery.qrels")
	}
	svc, err := a.openServices(ctx, nil)
	if err != nil {
		return err
	}
	defer svc.Close()
	text, ok := svc.set.ByModality(models.Text)
	if !ok {
		return errors.New("no text model loaded: set models.text")
	}
	if o.grocery {
		if err := writeGroceryCollection(ctx, out, svc, o); err != nil {
			return err
		}
	}
	qs, err := search.ReadQueries(o.queries)
	if err != nil {
		return err
	}
	qrels, err := search.ReadQrels(o.qrels)
	if err != nil {
		return err
	}
	served, stopServing, err := a.newServing(ctx, svc.st, svc.set)
	if err != nil {
		return err
	}
	defer stopServing()
	rep, err := search.Run(ctx, served, qs, qrels, search.DefaultDepth)
	if err != nil {
		return err
	}
	rep.Queries, rep.Qrels, rep.TextModel = o.queries, o.qrels, text.Key()
	n, err := svc.st.CountProducts(ctx)
	if err != nil {
		return err
	}
	rep.Products = int(n)
	if err := printSearchReport(out, rep); err != nil {
		return err
	}
	if o.plot != "" {
		curves := make([]report.NamedCurve, len(rep.Methods))
		for i, m := range rep.Methods {
			curves[i] = report.NamedCurve{Method: m.Method, Curve: m.Curve}
		}
		if err := report.CurvePlot(o.plot, fmt.Sprintf("Text search, %d queries", rep.Evaluated), curves); err != nil {
			return err
		}
	}
	return report.Write(o.json, o.md, rep, search.Markdown)
}

// writeGroceryCollection builds the grocery test collection from the
// ingested catalog and writes it where --queries and --qrels say.
func writeGroceryCollection(ctx context.Context, out io.Writer, svc *services, o evalSearchOpts) error {
	products, err := labels.Products(ctx, svc.st)
	if err != nil {
		return err
	}
	qs, qrels, err := search.GroceryQueries(products)
	if err != nil {
		return err
	}
	if err := search.WriteQueries(o.queries, qs); err != nil {
		return err
	}
	if err := search.WriteQrels(o.qrels, qs, qrels); err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote %d grocery queries to %s and their judgements to %s\n", len(qs), o.queries, o.qrels)
	return nil
}

func printSearchReport(out io.Writer, rep search.Report) error {
	fmt.Fprintf(out, "text search: %d queries (%d without judgements skipped) over %d products, %.1fs\n",
		rep.Evaluated, rep.Skipped, rep.Products, rep.Seconds)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "method\tnDCG@10\tMRR@10\tRecall@100\t")
	for _, m := range rep.Methods {
		fmt.Fprintf(tw, "%s\t%.3f\t%.3f\t%.3f\t\n", m.Method, m.NDCG10, m.MRR10, m.Recall100)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if rep.NoVector > 0 {
		fmt.Fprintf(out, "%d queries have no word the text model knows: no vector list, hybrid is lexical alone\n", rep.NoVector)
	}
	return nil
}
