package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/vitrinehq/vitrine/indexer"
)

func newBackfillCmd(a *app) *cobra.Command {
	var (
		activate  bool
		batchSize int
		weights   = map[string]*float64{}
		strategy  string
	)
	cmd := &cobra.Command{
		Use:   "backfill",
		Short: "Build a new vector space from the configured models and fusion, while serving goes on",
		Long: `Re-encode and re-fuse every product into a new vector-space version, beside
the active one, which keeps serving. The new space uses the configured models
and fusion (overridable with the flags below). Per-model embeddings whose
input did not change are reused, so changing only fusion weights runs no
model, and changing one model re-runs only that model.

A backfill that is killed resumes when run again: it finds the unfinished
space with the same definition and skips products already done. When every
product is in, the HNSW index is built, the space is marked ready, and with
--activate it becomes the serving space in one transaction. Otherwise use
'vitrine vectors activate VERSION'.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			a.overrideFusion(strategy, weights)
			svc, err := a.openServices(ctx, nil)
			if err != nil {
				return err
			}
			defer svc.Close()
			st, set, spec := svc.st, svc.set, svc.spec
			ix := a.indexer(st, set)
			var bar interface{ Set64(int64) error }
			rep, err := indexer.Backfill(ctx, st, ix, spec, indexer.BackfillOptions{
				BatchSize: batchSize, Activate: activate,
				Progress: func(done, total int64) {
					if bar == nil {
						bar = progress(cmd.ErrOrStderr(), total, "backfill", false)
					}
					_ = bar.Set64(done)
				},
			})
			fmt.Fprintln(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			printBackfill(cmd.OutOrStdout(), rep, activate)
			return nil
		},
	}
	cmd.Flags().BoolVar(&activate, "activate", false, "activate the new space when it is complete")
	cmd.Flags().IntVar(&batchSize, "batch-size", 256, "products per batch")
	cmd.Flags().StringVar(&strategy, "strategy", "", "fusion strategy: weighted_concat or weighted_mean (default fusion.strategy)")
	for _, m := range []string{"text", "image", "audio"} {
		w := new(float64)
		*w = -1
		weights[m] = w
		cmd.Flags().Float64Var(w, m+"-weight", -1, fmt.Sprintf("fusion weight of the %s model (default fusion.%s_weight)", m, m))
	}
	return cmd
}

// overrideFusion applies the backfill's --strategy and --*-weight flags
// (a negative weight means the flag was not given) to the configuration.
func (a *app) overrideFusion(strategy string, weights map[string]*float64) {
	if strategy != "" {
		a.cfg.Fusion.Strategy = strategy
	}
	for key, w := range weights {
		if w == nil || *w < 0 {
			continue
		}
		switch key {
		case "text":
			a.cfg.Fusion.TextWeight = *w
		case "image":
			a.cfg.Fusion.ImageWeight = *w
		case "audio":
			a.cfg.Fusion.AudioWeight = *w
		}
	}
}

// printBackfill says what a backfill did and how to activate its space.
func printBackfill(out io.Writer, rep indexer.BackfillReport, activate bool) {
	sp := rep.Space
	if !rep.Finished {
		fmt.Fprintf(out, "vector space %d already holds this definition (%s); nothing to do\n", sp.Version, sp.State)
		return
	}
	fmt.Fprintf(out, "vector space %d (%d dimensions, %s): %d vectors written, %d up to date, %d products without usable input; models run: %v\n",
		sp.Version, sp.Dim, sp.Storage, rep.Written, rep.UpToDate, rep.Rejected, rep.Encoded)
	if activate {
		fmt.Fprintf(out, "vector space %d is ready and active\n", sp.Version)
		return
	}
	fmt.Fprintf(out, "vector space %d is ready; activate it with `vitrine vectors activate %d`\n", sp.Version, sp.Version)
}
