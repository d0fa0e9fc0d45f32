package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/vitrinehq/vitrine/indexer"
	"github.com/vitrinehq/vitrine/internal/cli"
)

func newBackfillCmd(a *app) *cobra.Command {
	var (
		activate  bool
		batchSize int
		fusion    cli.FusionFlags
	)
	cmd := &cobra.Command{
		Use:   "backfill",
		Short: "Build a new vector space from the configured models and fusion, while serving goes on",
		Long: `Re-encode and re-fuse every product into a new vector-space version beside
the active one, which keeps serving, with the configured models and fusion
(or the flags below); unchanged per-model embeddings are reused, so new
weights run no model. --reduce K fits a PCA to K dimensions on up to 20,000
products first and reports the variance and recall@10 it keeps.

A killed backfill resumes when run again: it finds the unfinished space with
the same definition (keeping its fit) and skips products already done. When
every product is in, the HNSW index is built, the space is marked ready, and
with --activate it becomes the serving space in one transaction. Otherwise
use 'vitrine vectors activate VERSION'.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			fusion.Apply(&a.cfg.Fusion)
			svc, err := a.openServices(ctx, nil)
			if err != nil {
				return err
			}
			defer svc.Close()
			var bar interface{ Set64(int64) error }
			rep, err := indexer.Backfill(ctx, svc.st, a.indexer(svc.st, svc.set), svc.spec, indexer.BackfillOptions{
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
			return rep.Text(cmd.OutOrStdout(), activate)
		},
	}
	cmd.Flags().BoolVar(&activate, "activate", false, "activate the new space when it is complete")
	cmd.Flags().IntVar(&batchSize, "batch-size", 256, "products per batch")
	fusion.Register(cmd)
	return cmd
}
