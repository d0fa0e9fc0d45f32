package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/vitrinehq/vitrine/internal/cli"
	"github.com/vitrinehq/vitrine/recommend"
	"github.com/vitrinehq/vitrine/training"
)

func newTrainCmd(a *app) *cobra.Command {
	var (
		o         training.Options
		fusionFit bool
	)
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Train the collaborative-filtering model on all stored events and activate it",
		Long: `Fit implicit-feedback matrix factorisation (ALS with conjugate gradient, or
BPR) on every stored event, weighted by type (purchase > add to cart > click >
view; a poor rating counts against), store the item and user factors in
PostgreSQL (pgvector, inner product = score) and make the model active. The
API then serves hybrid recommendations: collaborative, content and popularity
scores blended with weights tuned on one held-out interaction per user (NDCG@10
over a weight grid; --no-tune keeps server.cf_weight, server.content_weight and
server.popularity_weight). Users who arrive after a training are folded in
from their events (ALS). Erased users' events are gone, so the next training
leaves them out; their factors go with them at once. The model comes from the
same registry, with the same defaults, as 'vitrine eval recs' evaluates.
With --budget (default 3m) training first holds out each user's latest event
and searches every registry method's settings and a blend of the best on it
(full ranking, NDCG@10: the search 'vitrine eval recs --tune' runs), then
fits what it chose on all events and serves it: a factor method (als, bpr)
as stored factors, an item-based one (itemknn, itemknn-recency, rp3beta,
transitions, ease) as stored per-item neighbour lists scored from the user's
latest events, a blend of both through the same blend the evaluation uses;
session kNN and popularity are reported but left out of what is served. The
choice, what is served and every method's best settings are stored with the
model row (and shown on /admin). --method names one method to serve without
a search (--budget 0); item-based methods keep ALS factors beside them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			if fusionFit {
				res, err := training.LearnFusion(cmd.Context(), st)
				if err == nil {
					res.Text(cmd.OutOrStdout())
				}
				return err
			}
			bar := cli.NewStageBar(cmd.ErrOrStderr())
			o.Stage = func(s training.Stage) { bar.Stage(s.Name, s.Done, s.Total) }
			o.Progress = func(recommend.Trial) { bar.Count("search") }
			rep, err := training.Train(cmd.Context(), st, o)
			bar.Done()
			if err == nil {
				rep.Text(cmd.OutOrStdout(), !o.NoTune)
			}
			return err
		},
	}
	als, _ := recommend.Defaults("als") // the flags' help quotes the registry
	bpr, _ := recommend.Defaults("bpr")
	cmd.Flags().StringVar(&o.Method, "method", "als", "method served without a search: als, bpr, itemknn, itemknn-recency, rp3beta, transitions or ease")
	cmd.Flags().IntVar(&o.Factors, "factors", 0, fmt.Sprintf("latent factors (0: the registry's default, %d)", als.Factors))
	cmd.Flags().IntVar(&o.Iterations, "iterations", 0, fmt.Sprintf("ALS sweeps or BPR epochs (0: the registry's default, %d)", als.Iterations))
	cmd.Flags().Float64Var(&o.Reg, "reg", 0, fmt.Sprintf("L2 regularisation (0: the registry's defaults, als %g, bpr %g)", als.Reg, bpr.Reg))
	cmd.Flags().Float64Var(&o.Alpha, "alpha", 0, fmt.Sprintf("ALS confidence slope: c = 1 + alpha·weight (0: the registry's default, %g)", als.Alpha))
	cmd.Flags().Uint64Var(&o.Seed, "seed", 1, "random seed (a fixed seed makes training repeatable)")
	cmd.Flags().DurationVar(&o.Budget, "budget", 3*time.Minute, "search every method's settings and a blend on each user's latest event for about this long first (0: fit the fixed settings)")
	cmd.Flags().BoolVar(&o.NoTune, "no-tune", false, "keep the configured blend weights instead of tuning them on held-out behaviour")
	cmd.Flags().BoolVar(&fusionFit, "fusion", false, "instead, learn the per-modality fusion weights from the logged events and compare them with the active space's")
	return cmd
}
