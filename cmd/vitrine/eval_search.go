package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"

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
		products, err := labels.Products(ctx, svc.st)
		if err != nil {
			return err
		}
		n, err := search.WriteGrocery(products, o.queries, o.qrels)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "wrote %d grocery queries to %s and their judgements to %s\n", n, o.queries, o.qrels)
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
	if err := search.Text(out, rep); err != nil {
		return err
	}
	if o.plot != "" {
		if err := search.Plot(o.plot, rep); err != nil {
			return err
		}
	}
	return report.Write(o.json, o.md, rep, search.Markdown)
}
