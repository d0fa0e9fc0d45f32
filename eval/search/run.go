// Package search is the text-search evaluation protocol behind `vitrine
// eval search`: TREC-style topics and judgements (or a collection built
// from a labelled catalog), each query run through the served search use
// case (serving.Service.Search, with the server's configuration), and
// nDCG@10, MRR@10 and Recall@depth per method. The three methods are read
// off one served search: its lexical list, its vector list, and the fused
// (hybrid) result the API returns.
package search

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vitrinehq/vitrine/eval/metrics"
	"github.com/vitrinehq/vitrine/ranking"
	"github.com/vitrinehq/vitrine/report"
	"github.com/vitrinehq/vitrine/serving"
)

// Methods are the compared retrievals, in report order.
func Methods() []string { return []string{"lexical", "vector", "hybrid"} }

// DefaultDepth is how many results per method are scored (Recall@100).
const DefaultDepth = 100

// Searcher is the served search use case; *serving.Service satisfies it.
type Searcher interface {
	Search(ctx context.Context, req serving.SearchRequest) (serving.SearchResult, error)
}

// Run searches every query as an anonymous shopper (no filters, no
// personalisation, no facets, no query-log line) and averages the metrics
// over the queries that have judgements. depth <= 0 means DefaultDepth.
func Run(ctx context.Context, s Searcher, qs []Query, qrels map[string]metrics.Relevance, depth int) (Report, error) {
	if depth <= 0 {
		depth = DefaultDepth
	}
	start := time.Now()
	rep := Report{Pool: depth, RRFK: ranking.RRFK}
	per := map[string][]metrics.Query{}
	for _, q := range qs {
		res, err := s.Search(ctx, serving.SearchRequest{Query: q.Text, K: depth, SkipFacets: true, SkipQueryLog: true})
		if err != nil {
			return rep, fmt.Errorf("query %s (%q): %w", q.ID, q.Text, err)
		}
		// The first page as a shopper gets it (a search for 10 may score
		// its candidates differently from one for depth), then the rest.
		page, err := s.Search(ctx, serving.SearchRequest{Query: q.Text, K: serving.DefaultK, SkipFacets: true, SkipQueryLog: true})
		if err != nil {
			return rep, fmt.Errorf("query %s (%q): %w", q.ID, q.Text, err)
		}
		lists := methodLists(res, depth, &rep)
		lists["hybrid"] = pageFirst(page.Hits, lists["hybrid"])
		rel := qrels[q.ID]
		qr := QueryResult{ID: q.ID, Text: q.Text, NDCG10: map[string]float64{}, Top: map[string][]string{}}
		for _, m := range Methods() {
			per[m] = append(per[m], metrics.Query{ID: q.ID, Ranked: lists[m], Relevant: rel})
			qr.NDCG10[m] = metrics.NDCG(lists[m], rel, 10)
			qr.Top[m] = lists[m][:min(10, len(lists[m]))]
		}
		if rel.Count() > 0 {
			rep.PerQuery = append(rep.PerQuery, qr)
		}
	}
	summarise(&rep, per, depth)
	if rep.Evaluated == 0 {
		return rep, errors.New("no query has a relevant product in the qrels: check that the query ids match and the products are ingested")
	}
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

// methodLists reads the three rankings off one served search, and the
// served fusion weights into rep.
func methodLists(res serving.SearchResult, depth int, rep *Report) map[string][]string {
	lists := map[string][]string{}
	vector := false
	for _, l := range res.Lists {
		lists[l.Name] = l.IDs[:min(depth, len(l.IDs))]
		switch l.Name {
		case "lexical":
			rep.LexicalWeight = l.Weight
		case "vector":
			rep.VectorWeight, vector = l.Weight, true
		}
	}
	if !vector {
		rep.NoVector++
	}
	for _, h := range res.Hits {
		lists["hybrid"] = append(lists["hybrid"], h.ID)
	}
	return lists
}

// pageFirst is the first page's ids followed by the deeper list's others.
func pageFirst(page []serving.Hit, deep []string) []string {
	out := make([]string, 0, len(deep))
	seen := map[string]bool{}
	for _, h := range page {
		out = append(out, h.ID)
		seen[h.ID] = true
	}
	for _, id := range deep {
		if !seen[id] {
			out = append(out, id)
		}
	}
	return out
}

func summarise(rep *Report, per map[string][]metrics.Query, depth int) {
	ms := append([]metrics.Metric{metrics.NDCGAt(10), metrics.MRRAt(10), metrics.RecallAt(depth)}, report.CurveMetrics()...)
	for _, m := range Methods() {
		s := metrics.Evaluate(per[m], ms)
		rep.Evaluated, rep.Skipped = s.Evaluated, s.Skipped
		mr := MethodResult{Method: m}
		mr.NDCG10, _ = s.Get("ndcg@10")
		mr.MRR10, _ = s.Get("mrr@10")
		mr.Recall100, _ = s.Get(fmt.Sprintf("recall@%d", depth))
		mr.Curve = report.CurveOf(s)
		rep.Methods = append(rep.Methods, mr)
	}
}
