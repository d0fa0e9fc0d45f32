package gpucheck

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/vitrinehq/vitrine/internal/onnxgen"

	"github.com/vitrinehq/vitrine/models"
)

// Text writes a check as `vitrine models gpu-check` prints it: the runtime,
// each model's inputs, then one row per model with items/s on each
// provider and batch size, the CPU/CUDA cosines and OK or the failure;
// minCosine is the agreement required.
func (res Result) Text(w io.Writer, minCosine float64) error {
	fmt.Fprintf(w, "ONNX Runtime %s from %s; sessions on cpu and cuda\n", res.Version, res.Library)
	for _, r := range res.Rows {
		if r.Inputs != "" {
			fmt.Fprintf(w, "%s inputs: %s\n", r.M.Key(), r.Inputs)
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tMODALITY\tITEMS\tCPU b1/s\tCUDA b1/s\tCPU b32/s\tCUDA b32/s\tCOS MIN\tCOS MEAN\tRESULT")
	for _, r := range res.Rows {
		result, cmin, cmean := "OK", "-", "-"
		if r.Compared {
			cmin, cmean = fmt.Sprintf("%.6f", r.CosMin), fmt.Sprintf("%.6f", r.CosMean)
		}
		if r.Err != nil {
			result = "FAIL: " + r.Err.Error()
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.M.Key(), r.M.Modality, r.N,
			r.rate("cpu/1"), r.rate("cuda/1"), r.rate("cpu/32"), r.rate("cuda/32"), cmin, cmean, result)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range res.Rows {
		if strings.HasPrefix(r.M.Name, onnxgen.NamePrefix) {
			fmt.Fprintf(w, "%s* models have generated (random) weights at real model sizes: their rows measure speed and CPU/CUDA agreement only\n", onnxgen.NamePrefix)
			break
		}
	}
	_, err := fmt.Fprintf(w, "items/s end to end (preprocessing included); cosine of CPU vs CUDA vectors, at least %g required\n", minCosine)
	return err
}

// rate is the items/s measured under key ("cpu/1"), or "-" when none was.
func (r Row) rate(key string) string {
	v, ok := r.PerSec[key]
	if !ok {
		return "-"
	}
	return fmt.Sprintf("%.1f", v)
}

// Report runs Check and writes its result to w (Text) once a runtime was
// loaded. It returns Check's error (an *UnavailableError, before anything
// is written, when CUDA cannot be used here) or else the failures of the
// models that failed or disagreed, joined.
func Report(ctx context.Context, w io.Writer, env Env, todo []models.Manifest, o Options) error {
	res, err := Check(ctx, env, todo, o)
	var ue *UnavailableError
	if errors.As(err, &ue) {
		return err
	}
	if res.Version != "" {
		if perr := res.Text(w, o.MinCosine); perr != nil {
			return perr
		}
	}
	if err != nil {
		return err
	}
	if len(res.Failed) > 0 {
		return fmt.Errorf("models gpu-check: %d of %d models failed: %w", len(res.Failed), len(todo), errors.Join(res.Failed...))
	}
	return nil
}
