package throughput

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// PrintIngest writes the report's rows as an aligned text table.
func PrintIngest(w io.Writer, rep IngestReport) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nCASE\tPRODUCTS\tINGEST s\tINGEST products/s\tFIRST → LAST QUARTER\tINDEX BUILD s\tWITH BUILD products/s\tMODELS ALONE items/s\tINGEST/MODELS\tWITH BUILD/MODELS\tDATABASE MiB\tEMPTY MiB")
	for _, r := range rep.Rows {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%s\t%s → %s\t%s\t%s\t%s\t%.3f\t%.3f\t%.1f\t%.1f\n", r.Case, r.Products, r.IngestSeconds, FormatRate(r.IngestRate),
			FormatRate(r.FirstQuarter), FormatRate(r.LastQuarter),
			ingestBuild(r), FormatRate(r.TotalRate), FormatRate(r.ModelsOnly.PerSecond), r.IngestVsModel, r.TotalVsModel, MiB(r.DatabaseBytes), MiB(r.EmptyBytes))
	}
	return tw.Flush()
}

// MiB is n bytes in mebibytes.
func MiB(n int64) float64 { return float64(n) / (1 << 20) }

// IndexNote says how a row's indexes were kept.
func IndexNote(r IngestRow) string {
	if r.Index != "deferred" {
		return "indexes live"
	}
	return fmt.Sprintf("index build %.1fs", r.IndexSeconds)
}

// ingestBuild prints the index build time, "-" when the index was live.
func ingestBuild(r IngestRow) string {
	if r.Index != "deferred" {
		return "-"
	}
	return fmt.Sprintf("%.1f", r.IndexSeconds)
}

// IngestMarkdown writes the report as Markdown: its setting and one table
// row per case.
func IngestMarkdown(w io.Writer, rep IngestReport) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Ingestion throughput: `vitrine bench ingest`\n\n")
	fmt.Fprintf(&b, "%s, %d CPUs, database `%s`, %d products per batch, %d batches in flight; %.0f s in all.", rep.Date, rep.CPUs, rep.Database, rep.BatchSize, rep.Concurrency, rep.Seconds)
	if rep.Images != "" {
		fmt.Fprintf(&b, " Images: %s.", rep.Images)
	}
	fmt.Fprintf(&b, "\n\nIngest is `ingest.Run` (parse, upsert, encode, fuse, write, indexes); *models alone* (the baseline) is the same models on the same products' inputs in memory, "+
		"no database, measured before and after the load. A deferred index is built after loading; *with build* counts that time.")
	if rep.Keypoints {
		fmt.Fprintf(&b, " Geometric verification is on (`image.verify_top` > 0): cases with images also extract each catalog image's SIFT keypoints, at ingest and in the baseline.")
	}
	fmt.Fprintf(&b, "\n\n")
	fmt.Fprintf(&b, "| case | products | ingest s | ingest products/s | first → last quarter | index build s | with build products/s | models alone items/s | ingest / models | with build / models | database MiB | empty MiB |\n")
	fmt.Fprintf(&b, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rep.Rows {
		fmt.Fprintf(&b, "| %s | %d | %.1f | %s | %s → %s | %s | %s | %s | %.3f | %.3f | %.1f | %.1f |\n", r.Case, r.Products, r.IngestSeconds, FormatRate(r.IngestRate),
			FormatRate(r.FirstQuarter), FormatRate(r.LastQuarter),
			ingestBuild(r), FormatRate(r.TotalRate), FormatRate(r.ModelsOnly.PerSecond), r.IngestVsModel, r.TotalVsModel, MiB(r.DatabaseBytes), MiB(r.EmptyBytes))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
