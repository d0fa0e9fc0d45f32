package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/eval/metrics"
	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/models"
	"github.com/vitrinehq/vitrine/ranking"
	"github.com/vitrinehq/vitrine/report"
	"github.com/vitrinehq/vitrine/store"
)

// searchPool is how many candidates each retrieval list brings, as in the
// API's hybrid search (api.candidatePool); it is also the Recall depth.
const searchPool = 100

// The retrieval methods compared, in report order.
var searchMethods = [...]string{"lexical", "vector", "hybrid"}

// trecQuery is one line of a TREC topics file: qid<TAB>text.
type trecQuery struct {
	ID   string `json:"qid"`
	Text string `json:"text"`
}

func readQueries(path string) ([]trecQuery, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []trecQuery
	seen := map[string]int{}
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, text, ok := strings.Cut(line, "\t")
		id, text = strings.TrimSpace(id), strings.TrimSpace(text)
		if !ok || id == "" || text == "" {
			return nil, fmt.Errorf("%s:%d: want qid<TAB>query text", path, n)
		}
		if prev, dup := seen[id]; dup {
			return nil, fmt.Errorf("%s:%d: query id %q already on line %d", path, n, id, prev)
		}
		seen[id] = n
		out = append(out, trecQuery{ID: id, Text: text})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no queries", path)
	}
	return out, nil
}

// readQrels reads TREC relevance judgements "qid iteration docid grade"
// (the iteration column is ignored, as trec_eval does).
func readQrels(path string) (map[string]metrics.Relevance, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]metrics.Relevance{}
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		if len(fields) != 4 {
			return nil, fmt.Errorf("%s:%d: %d fields, want qid 0 docid grade", path, n, len(fields))
		}
		g, err := strconv.ParseFloat(fields[3], 64)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: grade %q is not a number", path, n, fields[3])
		}
		qid, doc := fields[0], fields[2]
		if out[qid] == nil {
			out[qid] = metrics.Relevance{}
		}
		if _, dup := out[qid][doc]; dup {
			return nil, fmt.Errorf("%s:%d: %s judged twice for query %s", path, n, doc, qid)
		}
		out[qid][doc] = g
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// groceryQueries builds a test collection from a catalog labelled like the
// grocery demo: attributes fine_class_id and coarse_class_id, and a
// category path ending in the coarse and the fine class name ("Fruit >
// Apple > Golden Delicious").
//
// One query per product is its fine class name: grade 2 for that product,
// 1 for the other products of its coarse class (a Granny Smith is a fair
// answer to "Golden Delicious", a banana is not). One query per coarse
// class is the class name ("Apple"): grade 2 for each of its products.
// A coarse query whose text equals a product query ("Avocado", a class of
// one product) would count the same question twice and is left out.
func groceryQueries(products []catalog.Product) ([]trecQuery, map[string]metrics.Relevance, error) {
	type labelled struct {
		id                 string
		fine, coarse       int
		fineName, coarseNm string
	}
	var ls []labelled
	for _, p := range products {
		f, ok1 := evalClassID(p.Attributes, fineClassAttr)
		c, ok2 := evalClassID(p.Attributes, coarseClassAttr)
		if !ok1 || !ok2 {
			continue
		}
		l := labelled{id: p.ID, fine: f, coarse: c}
		if n := len(p.Category); n >= 2 {
			l.fineName, l.coarseNm = p.Category[n-1], p.Category[n-2]
		} else if _, name, ok := strings.Cut(strings.TrimPrefix(p.ID, "grocery-"), "-"); ok {
			// grocery-<id>-<fine-class-name>: the class name with dashes.
			l.fineName = strings.ReplaceAll(name, "-", " ")
		}
		if strings.TrimSpace(l.fineName) == "" {
			continue
		}
		ls = append(ls, l)
	}
	if len(ls) == 0 {
		return nil, nil, fmt.Errorf("no ingested product has attributes.%s, attributes.%s and a category path: ingest demo/grocery/catalog.jsonl", fineClassAttr, coarseClassAttr)
	}
	slices.SortFunc(ls, func(a, b labelled) int { return cmp.Or(cmp.Compare(a.fine, b.fine), cmp.Compare(a.id, b.id)) })
	var qs []trecQuery
	qrels := map[string]metrics.Relevance{}
	texts := map[string]bool{}
	for _, l := range ls {
		qid := fmt.Sprintf("fine-%02d", l.fine)
		if _, dup := qrels[qid]; dup {
			qid = fmt.Sprintf("fine-%02d-%s", l.fine, l.id) // two products of one class
		}
		rel := metrics.Relevance{}
		for _, o := range ls {
			switch {
			case o.fine == l.fine:
				rel[o.id] = 2
			case o.coarse == l.coarse:
				rel[o.id] = 1
			}
		}
		qs = append(qs, trecQuery{ID: qid, Text: l.fineName})
		qrels[qid] = rel
		texts[strings.ToLower(l.fineName)] = true
	}
	coarse := map[int]string{}
	for _, l := range ls {
		if _, ok := coarse[l.coarse]; !ok && l.coarseNm != "" {
			coarse[l.coarse] = l.coarseNm
		}
	}
	ids := make([]int, 0, len(coarse))
	for c := range coarse {
		ids = append(ids, c)
	}
	slices.Sort(ids)
	for _, c := range ids {
		if texts[strings.ToLower(coarse[c])] {
			continue
		}
		qid := fmt.Sprintf("coarse-%02d", c)
		rel := metrics.Relevance{}
		for _, l := range ls {
			if l.coarse == c {
				rel[l.id] = 2
			}
		}
		qs = append(qs, trecQuery{ID: qid, Text: coarse[c]})
		qrels[qid] = rel
	}
	return qs, qrels, nil
}

func writeQueries(path string, qs []trecQuery) error {
	var b strings.Builder
	for _, q := range qs {
		fmt.Fprintf(&b, "%s\t%s\n", q.ID, q.Text)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func writeQrels(path string, qs []trecQuery, qrels map[string]metrics.Relevance) error {
	var b strings.Builder
	for _, q := range qs {
		docs := make([]string, 0, len(qrels[q.ID]))
		for d := range qrels[q.ID] {
			docs = append(docs, d)
		}
		slices.Sort(docs)
		for _, d := range docs {
			fmt.Fprintf(&b, "%s 0 %s %s\n", q.ID, d, strconv.FormatFloat(qrels[q.ID][d], 'f', -1, 64))
		}
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// searchRetriever runs the API's three retrievals for a query.
type searchRetriever struct {
	st   *store.Store
	text extractors.Encoder
	// Hybrid search's RRF weights (server.lexical_weight, vector_weight).
	lexicalWeight, vectorWeight float64
}

// retrieve returns each method's ranking, as GET /v1/search builds it:
// full-text and text-embedding lists of searchPool candidates fused by
// reciprocal rank fusion. A query with no word the text model knows has no
// vector list (noVector), and hybrid is then lexical alone, as in the API.
func (r searchRetriever) retrieve(ctx context.Context, q string) (lists map[string][]string, noVector bool, err error) {
	lex, err := r.st.LexicalSearch(ctx, q, catalog.Filter{}, searchPool)
	if err != nil {
		return nil, false, err
	}
	rl := []ranking.List{{Name: "lexical", Weight: r.lexicalWeight}}
	for _, x := range lex {
		rl[0].IDs = append(rl[0].IDs, x.ProductID)
	}
	lists = map[string][]string{"lexical": rl[0].IDs}
	tv, err := r.text.Encode(ctx, []byte(q))
	switch {
	case err == nil:
		nn, err := r.st.Nearest(ctx, store.NearestQuery{Model: r.text.Key(), Vector: tv, K: searchPool})
		if err != nil {
			return nil, false, err
		}
		vl := ranking.List{Name: "vector", Weight: r.vectorWeight}
		for _, n := range nn {
			vl.IDs = append(vl.IDs, n.ProductID)
		}
		rl = append(rl, vl)
		lists["vector"] = vl.IDs
	case errors.Is(err, extractors.ErrEmptyInput) || strings.Contains(err.Error(), "empty input"):
		noVector = true
	default:
		return nil, false, err
	}
	for _, res := range ranking.RRF(rl, ranking.RRFK) {
		lists["hybrid"] = append(lists["hybrid"], res.ProductID)
	}
	return lists, noVector, nil
}

type searchMethodResult struct {
	Method    string              `json:"method"`
	NDCG10    float64             `json:"ndcg@10"`
	MRR10     float64             `json:"mrr@10"`
	Recall100 float64             `json:"recall@100"`
	Curve     []report.CurvePoint `json:"curve"`
}

type searchQueryResult struct {
	ID     string             `json:"qid"`
	Text   string             `json:"text"`
	NDCG10 map[string]float64 `json:"ndcg@10"`
	// Top are each method's first 10 products.
	Top map[string][]string `json:"top"`
}

type searchReport struct {
	Queries   string `json:"queries"`
	Qrels     string `json:"qrels"`
	TextModel string `json:"text_model"`
	Products  int    `json:"products"`
	// Evaluated queries have at least one relevant product; Skipped have
	// none (or no qrels at all).
	Evaluated int `json:"evaluated"`
	Skipped   int `json:"skipped"`
	// NoVector counts queries with no word the text model knows.
	NoVector      int                  `json:"no_vector"`
	Pool          int                  `json:"pool"`
	RRFK          float64              `json:"rrf_k"`
	LexicalWeight float64              `json:"lexical_weight"`
	VectorWeight  float64              `json:"vector_weight"`
	Methods       []searchMethodResult `json:"methods"`
	Seconds       float64              `json:"seconds"`
	PerQuery      []searchQueryResult  `json:"per_query"`
}

func newEvalSearchCmd(a *app) *cobra.Command {
	var queriesFile, qrelsFile, jsonOut, mdOut, plotOut string
	var grocery bool
	cmd := &cobra.Command{
		Use:   "search (--queries FILE --qrels FILE | --grocery)",
		Short: "nDCG@10, MRR@10 and Recall@100 of lexical, vector and hybrid text search",
		Long: `Run each query through the three retrievals of GET /v1/search over the
ingested products: full-text search (lexical), nearest text embeddings
(vector), and their reciprocal rank fusion with server.lexical_weight and
server.vector_weight (hybrid), 100 candidates per list. Score each against
graded judgements and print nDCG@10, MRR@10 and Recall@100 per method.

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
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if !grocery && (queriesFile == "" || qrelsFile == "") {
				return errors.New("give --queries and --qrels, or --grocery to build them from the ingested grocery catalog")
			}
			if grocery {
				queriesFile = cmp.Or(queriesFile, "grocery.queries.tsv")
				qrelsFile = cmp.Or(qrelsFile, "grocery.qrels")
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
			out := cmd.OutOrStdout()
			if grocery {
				products, err := evalProducts(ctx, svc.st)
				if err != nil {
					return err
				}
				qs, qrels, err := groceryQueries(products)
				if err != nil {
					return err
				}
				if err := writeQueries(queriesFile, qs); err != nil {
					return err
				}
				if err := writeQrels(qrelsFile, qs, qrels); err != nil {
					return err
				}
				fmt.Fprintf(out, "wrote %d grocery queries to %s and their judgements to %s\n", len(qs), queriesFile, qrelsFile)
			}
			qs, err := readQueries(queriesFile)
			if err != nil {
				return err
			}
			qrels, err := readQrels(qrelsFile)
			if err != nil {
				return err
			}
			r := searchRetriever{st: svc.st, text: text, lexicalWeight: a.cfg.Server.LexicalWeight, vectorWeight: a.cfg.Server.VectorWeight}
			rep, err := evalSearch(ctx, r, qs, qrels)
			if err != nil {
				return err
			}
			rep.Queries, rep.Qrels, rep.TextModel = queriesFile, qrelsFile, text.Key()
			if rep.Products, err = evalCountProducts(ctx, svc.st); err != nil {
				return err
			}
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
			if plotOut != "" {
				curves := make([]report.NamedCurve, len(rep.Methods))
				for i, m := range rep.Methods {
					curves[i] = report.NamedCurve{Method: m.Method, Curve: m.Curve}
				}
				if err := report.CurvePlot(plotOut, fmt.Sprintf("Text search, %d queries", rep.Evaluated), curves); err != nil {
					return err
				}
			}
			return report.Write(jsonOut, mdOut, rep, searchMarkdown)
		},
	}
	cmd.Flags().StringVar(&queriesFile, "queries", "", "queries, \"qid<TAB>text\" a line (written there with --grocery)")
	cmd.Flags().StringVar(&qrelsFile, "qrels", "", "TREC judgements, \"qid 0 docid grade\" a line (written there with --grocery)")
	cmd.Flags().BoolVar(&grocery, "grocery", false, "build queries and judgements from the ingested grocery catalog first")
	cmd.Flags().StringVar(&jsonOut, "json", "", "write the report as JSON to this file")
	cmd.Flags().StringVar(&mdOut, "md", "", "write the report as Markdown to this file")
	cmd.Flags().StringVar(&plotOut, "plot", "", "draw recall@k and nDCG@k (k = 1..20) per method into this PNG")
	return cmd
}

func evalCountProducts(ctx context.Context, st *store.Store) (int, error) {
	n, err := st.CountProducts(ctx)
	return int(n), err
}

// evalSearch runs every query through the three retrievals and averages
// the metrics over queries with judgements.
func evalSearch(ctx context.Context, r searchRetriever, qs []trecQuery, qrels map[string]metrics.Relevance) (searchReport, error) {
	start := time.Now()
	rep := searchReport{Pool: searchPool, RRFK: ranking.RRFK, LexicalWeight: r.lexicalWeight, VectorWeight: r.vectorWeight}
	per := map[string][]metrics.Query{}
	for _, q := range qs {
		lists, noVector, err := r.retrieve(ctx, q.Text)
		if err != nil {
			return rep, fmt.Errorf("query %s (%q): %w", q.ID, q.Text, err)
		}
		if noVector {
			rep.NoVector++
		}
		rel := qrels[q.ID]
		qr := searchQueryResult{ID: q.ID, Text: q.Text, NDCG10: map[string]float64{}, Top: map[string][]string{}}
		for _, m := range searchMethods {
			per[m] = append(per[m], metrics.Query{ID: q.ID, Ranked: lists[m], Relevant: rel})
			qr.NDCG10[m] = metrics.NDCG(lists[m], rel, 10)
			qr.Top[m] = lists[m][:min(10, len(lists[m]))]
		}
		if rel.Count() > 0 {
			rep.PerQuery = append(rep.PerQuery, qr)
		}
	}
	ms := append([]metrics.Metric{metrics.NDCGAt(10), metrics.MRRAt(10), metrics.RecallAt(searchPool)}, report.CurveMetrics()...)
	for _, m := range searchMethods {
		s := metrics.Evaluate(per[m], ms)
		rep.Evaluated, rep.Skipped = s.Evaluated, s.Skipped
		mr := searchMethodResult{Method: m}
		mr.NDCG10, _ = s.Get("ndcg@10")
		mr.MRR10, _ = s.Get("mrr@10")
		mr.Recall100, _ = s.Get(fmt.Sprintf("recall@%d", searchPool))
		mr.Curve = report.CurveOf(s)
		rep.Methods = append(rep.Methods, mr)
	}
	if rep.Evaluated == 0 {
		return rep, errors.New("no query has a relevant product in the qrels: check that the query ids match and the products are ingested")
	}
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

func searchMarkdown(w io.Writer, rep searchReport) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Text search\n\n")
	fmt.Fprintf(&b, "%d queries (`%s`, judgements `%s`) over %d ingested products; text model `%s`; %d candidates per list, "+
		"hybrid = RRF (k = %g, lexical weight %g, vector weight %g).\n\n",
		rep.Evaluated, rep.Queries, rep.Qrels, rep.Products, rep.TextModel, rep.Pool, rep.RRFK, rep.LexicalWeight, rep.VectorWeight)
	fmt.Fprintf(&b, "| method | nDCG@10 | MRR@10 | Recall@100 |\n|---|---:|---:|---:|\n")
	for _, m := range rep.Methods {
		fmt.Fprintf(&b, "| %s | %.3f | %.3f | %.3f |\n", m.Method, m.NDCG10, m.MRR10, m.Recall100)
	}
	if rep.Skipped > 0 {
		fmt.Fprintf(&b, "\n%d queries without a relevant product were skipped.\n", rep.Skipped)
	}
	if rep.NoVector > 0 {
		fmt.Fprintf(&b, "\n%d queries have no word the text model knows (no vector list; hybrid is lexical alone).\n", rep.NoVector)
	}
	fmt.Fprintf(&b, "\n## Recall@k and nDCG@k\n\n| k |")
	for _, m := range rep.Methods {
		fmt.Fprintf(&b, " %s recall | %s nDCG |", m.Method, m.Method)
	}
	fmt.Fprintf(&b, "\n|---:|%s\n", strings.Repeat("---:|", 2*len(rep.Methods)))
	for i := range report.CurveK {
		fmt.Fprintf(&b, "| %d |", i+1)
		for _, m := range rep.Methods {
			fmt.Fprintf(&b, " %.3f | %.3f |", m.Curve[i].Recall, m.Curve[i].NDCG)
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
