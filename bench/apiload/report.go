package apiload

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vitrinehq/vitrine/bench/load"
	"github.com/vitrinehq/vitrine/report"
)

// pair is one endpoint beside its baseline.
type pair struct {
	name    string
	api, db load.Result
	ratio   float64 // API p50 over the baseline's
}

// pairs reads the results two by two, as SearchPairs and RecommendPair
// make them.
func (rep Report) pairs() []pair {
	var out []pair
	for i := 0; i+1 < len(rep.Results); i += 2 {
		p := pair{name: strings.TrimSuffix(rep.Results[i].Name, " (API)"), api: rep.Results[i], db: rep.Results[i+1]}
		if p.db.P50 > 0 {
			p.ratio = float64(p.api.P50) / float64(p.db.P50)
		}
		out = append(out, p)
	}
	return out
}

// Text writes each endpoint beside its baseline as an aligned table.
func Text(w io.Writer, rep Report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if rep.RetrievalTTL != "" && (rep.has("recommend") || rep.has("similar")) {
		fmt.Fprintf(tw, "\nrecommend and similar: %s\n", retrievalNote(rep.RetrievalTTL))
	}
	if rep.has(AfterEvent) {
		fmt.Fprintf(tw, "%s: %s\n", AfterEvent, afterEventNote())
	}
	fmt.Fprintln(tw, "\nENDPOINT\tQPS\tP50 ms\tP95 ms\tP99 ms\tERRORS\tBARE DB QPS\tBARE P50 ms\tBARE P99 ms\tP50 RATIO")
	for _, p := range rep.pairs() {
		fmt.Fprintf(tw, "%s\t%.1f\t%s\t%s\t%s\t%d\t%.1f\t%s\t%s\t%.2fx\n", p.name, p.api.QPS,
			load.Ms(p.api.P50), load.Ms(p.api.P95), load.Ms(p.api.P99), p.api.Errors, p.db.QPS, load.Ms(p.db.P50), load.Ms(p.db.P99), p.ratio)
	}
	return tw.Flush()
}

// afterEventNote says what the AfterEvent rows measure.
func afterEventNote() string {
	return fmt.Sprintf("each shopper posts an event, waits %s, then asks for recommendations; "+
		"only that request is timed (the bare row runs the retrieval queries at the same pace)", ThinkTime)
}

// has says whether the report holds the endpoint's rows.
func (rep Report) has(endpoint string) bool {
	for _, r := range rep.Results {
		if strings.HasPrefix(r.Name, endpoint+" ") {
			return true
		}
	}
	return false
}

// retrievalNote says how the recommend and similar scenarios retrieved,
// from the served recommend.cache_ttl.
func retrievalNote(ttl string) string {
	if d, err := time.ParseDuration(ttl); err == nil && d == 0 {
		return "every retrieval afresh (recommend.cache_ttl 0)"
	}
	return "retrievals reused for " + ttl + " while a shopper's inputs are unchanged (recommend.cache_ttl; the replayed shoppers nearly always reuse one)"
}

// Markdown writes the report as a Markdown table.
func Markdown(w io.Writer, rep Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "## `vitrine bench api`: %d synthetic products\n\n", rep.Products)
	fmt.Fprintf(&b, "Ingest %.1f s (%.0f products/s, HNSW index deferred), HNSW index build %.1f s",
		rep.IngestSeconds, rep.IngestRate, rep.IndexSeconds)
	if rep.Reused {
		b.WriteString(" (recorded by the run that loaded this database)")
	}
	fmt.Fprintf(&b, "; database %.1f MiB. Collaborative-filtering training %.1f s. %d clients, %s per scenario after %s unmeasured.\n\n", float64(rep.DatabaseBytes)/(1<<20), rep.TrainSeconds, rep.Clients, rep.Duration, rep.Warmup)
	if rep.RetrievalTTL != "" && (rep.has("recommend") || rep.has("similar")) {
		fmt.Fprintf(&b, "Recommendations and similar products: %s.\n\n", retrievalNote(rep.RetrievalTTL))
	}
	if rep.has(AfterEvent) {
		fmt.Fprintf(&b, "`%s`: %s.\n\n", AfterEvent, afterEventNote())
	}
	b.WriteString("| endpoint | QPS | p50 ms | p95 ms | p99 ms | errors | bare DB QPS | bare p50 ms | bare p99 ms | p50 ratio |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, p := range rep.pairs() {
		fmt.Fprintf(&b, "| %s | %.1f | %s | %s | %s | %d | %.1f | %s | %s | %.2f× |\n", p.name, p.api.QPS,
			load.Ms(p.api.P50), load.Ms(p.api.P95), load.Ms(p.api.P99), p.api.Errors, p.db.QPS, load.Ms(p.db.P50), load.Ms(p.db.P99), p.ratio)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Plot draws the latency distributions, each endpoint solid and its
// baseline dashed.
func Plot(path string, rep Report) error {
	series := make([]report.LatencySeries, len(rep.Results))
	for i, r := range rep.Results {
		series[i] = report.LatencySeries{Name: r.Name, Latencies: r.Latencies}
	}
	return report.LatencyPlot(path, fmt.Sprintf("API latency, %d products, %d clients (dashed: bare database query)", rep.Products, rep.Clients), series)
}
