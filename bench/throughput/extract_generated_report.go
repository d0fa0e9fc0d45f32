package throughput

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// GeneratedNote is what every report of generated models says about them.
const GeneratedNote = "Weights are generated (internal/onnxgen presets: the shapes, operators and Hugging Face tensor names of the models named, seeded random weights): " +
	"the figures measure speed only; the vectors mean nothing, and int8's cosine to fp32 is that of random weights, a check that quantisation keeps the computation, not a quality figure."

// cellLine is one cell's rows in one line, as progress output.
func cellLine(rows []GeneratedRow) string {
	if len(rows) == 0 {
		return ""
	}
	r := rows[0]
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s batch %d:", r.Preset, seqLabel(r.SeqLen), r.Batch)
	for _, r := range rows {
		fmt.Fprintf(&b, " %s pipeline %s bare %s items/s (%.2f)", r.Precision, FormatRate(r.Pipeline.PerSecond), FormatRate(r.Bare.PerSecond), r.PipelineVsBare)
		if r.CosMean != 0 {
			fmt.Fprintf(&b, ", %.2fx fp32, cos %.4f/%.4f", r.PipelineSpeedup, r.CosMean, r.CosMin)
		}
		b.WriteString(";")
	}
	return strings.TrimSuffix(b.String(), ";")
}

// seqLabel is "seq N" for text and "image" for images.
func seqLabel(seq int) string {
	if seq == 0 {
		return "image"
	}
	return "seq " + strconv.Itoa(seq)
}

// dashIfZero prints v with format, or "-" for 0 (not measured).
func dashIfZero(format string, v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf(format, v)
}

// GeneratedText writes the report as `vitrine bench extract --generated`
// prints it: the setting, the models, then one row per cell and precision.
func GeneratedText(w io.Writer, rep GeneratedReport) error {
	fmt.Fprintf(w, "generated encoders, %s, ONNX Runtime %s (%s), %d CPUs, %.0fs\n", rep.Budget, rep.ORT, rep.Provider, rep.CPUs, rep.Seconds)
	for _, m := range rep.Models {
		fmt.Fprintf(w, "  %s: like %s, %.1fM parameters (%s)\n", m.Preset, m.Like, float64(m.Params)/1e6, buildNote(m))
	}
	fmt.Fprintf(w, "  %s\n", GeneratedNote)
	if rep.Interrupted {
		fmt.Fprintf(w, "  INTERRUPTED after %d rows: the cells not listed were not measured\n", len(rep.Rows))
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nMODEL\tPRECISION\tSEQ\tBATCH\tPIPELINE items/s\tBARE ORT items/s\tPIPELINE/BARE\tINT8 SPEED-UP (pipeline, bare)\tCOS MEAN\tCOS MIN")
	for _, r := range rep.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%.2f\t%s\t%s\t%s\n", r.Preset, r.Precision, seqCell(r.SeqLen), r.Batch,
			FormatRate(r.Pipeline.PerSecond), FormatRate(r.Bare.PerSecond), r.PipelineVsBare, speedups(r, "x"),
			dashIfZero("%.4f", r.CosMean), dashIfZero("%.4f", r.CosMin))
	}
	return tw.Flush()
}

func seqCell(seq int) string {
	if seq == 0 {
		return "-"
	}
	return strconv.Itoa(seq)
}

func speedups(r GeneratedRow, times string) string {
	if r.PipelineSpeedup == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f%s, %.2f%s", r.PipelineSpeedup, times, r.BareSpeedup, times)
}

// GeneratedMarkdown writes the report as Markdown: the setting, the
// models and inputs, what the paths are, then the table issue 18 asks for.
func GeneratedMarkdown(w io.Writer, rep GeneratedReport) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Encoders at real model sizes: `vitrine bench extract --generated`\n\n")
	fmt.Fprintf(&b, "%s, %d CPUs, ONNX Runtime %s (%s provider, intra-op threads %d, inter-op %d), ort.max_wait %s; %s (median of the rounds, at least one batch a round); %.0f s in all.\n\n",
		rep.Date, rep.CPUs, rep.ORT, rep.Provider, rep.Threads.Intra, rep.Threads.Inter, rep.MaxWait, rep.Budget, rep.Seconds)
	fmt.Fprintf(&b, "%s\n\n", GeneratedNote)
	if rep.Interrupted {
		fmt.Fprintf(&b, "**Interrupted** after %d rows: the cells not listed were not measured.\n\n", len(rep.Rows))
	}
	for _, m := range rep.Models {
		fmt.Fprintf(&b, "- `%s`: like %s, %s, %.1fM parameters, seed %d (%s)\n", m.Preset, m.Like, m.Modality, float64(m.Params)/1e6, rep.Seed, buildNote(m))
	}
	if rep.Texts != "" {
		fmt.Fprintf(&b, "- texts: %s\n", rep.Texts)
	}
	if rep.Images != "" {
		fmt.Fprintf(&b, "- images: %s\n", rep.Images)
	}
	fmt.Fprintf(&b, "\n*Pipeline*: BATCH concurrent `Encode` calls through the encoder's dynamic batcher (max batch = BATCH), opened from the installed manifest by `extractors.Open`: "+
		"tokenising or image decoding and resizing, the model, pooling, normalisation. *Bare ORT* (the baseline): the same graph as a plain ONNX Runtime session on tensors prepared beforehand for the same items. "+
		"fp32 and int8 (`models quantize`: DynamicQuantizeMatMul weights) of a cell run interleaved round by round; the int8 speed-up divides by the fp32 row of the same cell, and the cosines compare each item's int8 vector with its fp32 vector (one `EncodeBatch` each).\n\n")
	fmt.Fprintf(&b, "| model | precision | seq | batch | pipeline items/s | bare ORT items/s | pipeline / bare | int8 speed-up (pipeline, bare) | cos mean | cos min |\n")
	fmt.Fprintf(&b, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rep.Rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %s | %s | %.2f | %s | %s | %s |\n", r.Preset, r.Precision, seqCell(r.SeqLen), r.Batch,
			FormatRate(r.Pipeline.PerSecond), FormatRate(r.Bare.PerSecond), r.PipelineVsBare, speedups(r, "×"),
			dashIfZero("%.4f", r.CosMean), dashIfZero("%.4f", r.CosMin))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
