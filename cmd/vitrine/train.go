package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/vitrinehq/vitrine/training"
)

func newTrainCmd(a *app) *cobra.Command {
	var o training.Options
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Train the collaborative-filtering model on all stored events and activate it",
		Long: `Fit implicit-feedback matrix factorisation (ALS with conjugate gradient, or
BPR) on every stored event, weighted by type (purchase > add to cart > click >
view; a poor rating counts against), store the item and user factors in
PostgreSQL (pgvector, inner product = score) and make the model active. The
API then serves hybrid recommendations: collaborative, content and popularity
scores blended with server.cf_weight, server.content_weight and
server.popularity_weight. Users who arrive after a training are folded in
from their events (ALS). Erased users' events are gone, so the next training
leaves them out; their factors go with them at once.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			rep, err := training.Train(cmd.Context(), st, o)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "trained %s model %d on %d interactions (%d users, %d items): fit %.1fs, total %.1fs; active\n",
				rep.Method, rep.Version, rep.Interactions, rep.Users, rep.Items, rep.Fit.Seconds(), rep.Total.Seconds())
			return nil
		},
	}
	cmd.Flags().StringVar(&o.Method, "method", "als", "als or bpr")
	cmd.Flags().IntVar(&o.Factors, "factors", 64, "latent factors")
	cmd.Flags().IntVar(&o.Iterations, "iterations", 15, "ALS sweeps or BPR epochs")
	cmd.Flags().Float64Var(&o.Reg, "reg", 0.1, "L2 regularisation")
	cmd.Flags().Float64Var(&o.Alpha, "alpha", 2, "ALS confidence slope: c = 1 + alpha·weight")
	cmd.Flags().Uint64Var(&o.Seed, "seed", 1, "random seed (a fixed seed makes training repeatable)")
	return cmd
}
