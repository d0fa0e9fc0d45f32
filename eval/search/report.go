package search

import (
	"fmt"
	"io"
	"strings"

	"github.com/vitrinehq/vitrine/report"
)

// MethodResult is one retrieval method's mean figures.
type MethodResult struct {
	Method    string              `json:"method"`
	NDCG10    float64             `json:"ndcg@10"`
	MRR10     float64             `json:"mrr@10"`
	Recall100 float64             `json:"recall@100"`
	Curve     []report.CurvePoint `json:"curve"`
}

// QueryResult is one judged query's nDCG@10 and top 10 per method.
type QueryResult struct {
	ID     string             `json:"qid"`
	Text   string             `json:"text"`
	NDCG10 map[string]float64 `json:"ndcg@10"`
	// Top are each method's first 10 products.
	Top map[string][]string `json:"top"`
}

// Report is what one evaluation run measured.
type Report struct {
	Queries   string `json:"queries"`
	Qrels     string `json:"qrels"`
	TextModel string `json:"text_model"`
	Products  int    `json:"products"`
	// Evaluated queries have at least one relevant product; Skipped have
	// none (or no qrels at all).
	Evaluated int `json:"evaluated"`
	Skipped   int `json:"skipped"`
	// NoVector counts queries with no word the text model knows.
	NoVector      int            `json:"no_vector"`
	Pool          int            `json:"pool"`
	RRFK          float64        `json:"rrf_k"`
	LexicalWeight float64        `json:"lexical_weight"`
	VectorWeight  float64        `json:"vector_weight"`
	Methods       []MethodResult `json:"methods"`
	Seconds       float64        `json:"seconds"`
	PerQuery      []QueryResult  `json:"per_query"`
}

// Markdown writes rep as a Markdown report.
func Markdown(w io.Writer, rep Report) error {
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
