package search

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/vitrinehq/vitrine/bench/load"
)

// line is one row as printed: its figures and the p50 ratio of the
// baseline's row of the same leg and group over it.
type line struct {
	Row
	matched, scored float64
	speedup         float64 // baseline p50 / this p50; 0 for the baseline itself, -1 without one
}

// lines pairs each row with its group's counts and the baseline.
func (rep Report) lines() []line {
	groups := map[string]Group{}
	for _, g := range rep.Groups {
		groups[g.Name] = g
	}
	base := map[[2]string]load.Result{}
	for _, r := range rep.Rows {
		if r.Engine == Postgres {
			base[[2]string{r.Leg, r.Group}] = r.Result
		}
	}
	out := make([]line, len(rep.Rows))
	for i, r := range rep.Rows {
		l := line{Row: r}
		g := groups[r.Group]
		switch {
		case r.Leg != Lexical:
			l.matched, l.scored = -1, -1 // counted for the lexical leg (top K) only
		case r.Engine == Postgres:
			l.matched, l.scored = g.PostgresMatched, g.PostgresMatched
		case r.Engine == Bleve:
			l.matched, l.scored = g.BleveMatched, g.BleveMatched
		default:
			l.matched, l.scored = g.Matched, g.Scored
		}
		// No ratio without a baseline row that answered (a ts_rank_cd
		// scenario can finish no request in a short --duration).
		if b, ok := base[[2]string{r.Leg, r.Group}]; r.Engine != Postgres && (!ok || b.P50 <= 0 || r.Result.P50 <= 0) {
			l.speedup = -1
		} else if r.Engine != Postgres {
			l.speedup = float64(b.P50) / float64(r.Result.P50)
		}
		out[i] = l
	}
	return out
}

func (l line) ratio() string {
	switch {
	case l.speedup == 0:
		return "baseline"
	case l.speedup < 0:
		return "—"
	}
	return fmt.Sprintf("%.1f×", l.speedup)
}

// Summary is the build line both outputs start with.
func (rep Report) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d synthetic products", rep.Products)
	if rep.PopulateSeconds > 0 {
		fmt.Fprintf(&b, " (database loaded in %.1f s", rep.PopulateSeconds)
		if rep.Reused {
			b.WriteString(" by an earlier run")
		}
		b.WriteString(")")
	}
	if rep.Has(Index) {
		fmt.Fprintf(&b, "; index built from the database in %.2f s, heap %.1f MiB (%.1f → %.1f MiB in use after GC)",
			rep.Build.Seconds, mib(rep.Build.Bytes), mib(int64(rep.Build.HeapBefore)), mib(int64(rep.Build.HeapAfter)))
	}
	if bl := rep.Bleve; bl != nil {
		fmt.Fprintf(&b, "; Bleve (scorch in a temporary directory) built from the database in %.2f s, heap %.1f MiB (%.1f → %.1f MiB in use after GC) plus %.1f MiB of segment files mapped into memory",
			bl.Seconds, mib(bl.Bytes), mib(int64(bl.HeapBefore)), mib(int64(bl.HeapAfter)), mib(bl.DiskBytes))
	}
	fmt.Fprintf(&b, "; %d clients, %s per scenario after %s unmeasured, top %d", rep.Clients, rep.Duration, rep.Warmup, K)
	return b.String()
}

// count formats a per-query count; "—" where none was taken.
func count(n float64) string {
	if n < 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f", n)
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// Text writes the report as an aligned table.
func Text(w io.Writer, rep Report) error {
	fmt.Fprintf(w, "\n%s\n", rep.Summary())
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nLEG\tQUERIES\tENGINE\tQPS\tP50 ms\tP95 ms\tP99 ms\tERRORS\tMATCHED\tSCORED\tSPEED-UP")
	for _, l := range rep.lines() {
		r := l.Result
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", l.Leg, l.Group, l.Engine, r.QPS,
			load.Ms(r.P50), load.Ms(r.P95), load.Ms(r.P99), r.Errors, count(l.matched), count(l.scored), l.ratio())
	}
	return tw.Flush()
}

// Markdown writes the report as a Markdown section.
func Markdown(w io.Writer, rep Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "## `vitrine bench search`: %d synthetic products\n\n%s.\n\n", rep.Products, rep.Summary())
	b.WriteString("Matched and scored are documents per query (means over the group); Bleve and ts_rank_cd score every match. Speed-up is the ts_rank_cd p50 of the same leg and queries over this p50.\n\n")
	b.WriteString("| leg | queries | engine | QPS | p50 ms | p95 ms | p99 ms | errors | matched | scored | speed-up |\n")
	b.WriteString("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, l := range rep.lines() {
		r := l.Result
		fmt.Fprintf(&b, "| %s | %s | %s | %.1f | %s | %s | %s | %d | %s | %s | %s |\n", l.Leg, l.Group, l.Engine, r.QPS,
			load.Ms(r.P50), load.Ms(r.P95), load.Ms(r.P99), r.Errors, count(l.matched), count(l.scored), l.ratio())
	}
	b.WriteString("\nQueries:\n\n")
	for _, g := range rep.Groups {
		fmt.Fprintf(&b, "- %s: %s\n", g.Name, strings.Join(g.Queries, ", "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
