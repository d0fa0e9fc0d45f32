package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/extractors/onnx"
	"github.com/vitrinehq/vitrine/models"
)

// All verifies each model of todo in turn (Model), writing the table of
// `vitrine models verify` to w: name, modality, dimension, load and encode
// times, OK or FAIL with the reason. It stops early when ctx ends and
// returns ctx's error then, else every model's failure joined.
func All(ctx context.Context, w io.Writer, rt *onnx.Runtime, todo []models.Manifest, modelDir string, o extractors.Options) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tMODALITY\tDIM\tLOAD\tENCODE\tRESULT")
	var failed []error
	for _, m := range todo {
		r := Model(ctx, rt, m, modelDir, o)
		result := "OK"
		if r.Err != nil {
			result = "FAIL: " + r.Err.Error()
			failed = append(failed, fmt.Errorf("%s: %w", m.Key(), r.Err))
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", m.Key(), m.Modality, m.Dim, Duration(r.Load), Duration(r.Encode), result)
		if ctx.Err() != nil {
			break
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(failed) > 0 {
		return fmt.Errorf("models verify: %d of %d models failed: %w", len(failed), len(todo), errors.Join(failed...))
	}
	return nil
}

// Duration prints a step's time to 0.1 ms, or "-" when it did not run.
func Duration(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return d.Round(100 * time.Microsecond).String()
}
