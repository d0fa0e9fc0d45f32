package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/vitrinehq/vitrine/internal/synth"
)

func newEvalSynthCmd() *cobra.Command {
	var (
		out        string
		o          synth.InteractionOptions
		timestamps bool
		mode       string
	)
	cmd := &cobra.Command{
		Use:   "synth --out FILE",
		Short: "Write a synthetic interaction file with planted structure (MovieLens-100K's shape by default)",
		Long: `Write "user item rating timestamp" lines (MovieLens u.data, tab separated) for
'vitrine eval recs' where no public dataset is at hand. Users prefer the items
of one taste cluster (--noise of their items come from other clusters), item
popularity follows a power law, activity per user a Pareto law (at least 20),
and ratings (1 to 5) come from a global mean, user and item biases, the
cluster affinity, five latent factors and noise: both the ranking methods and
the rating predictors have something to find. The same flags and --seed write
the same file. Size it with --users, --items and --interactions (e.g. 40000,
55000 and 350000 for an Amazon-Beauty-sized file); memory stays that of the
items and one user, however many lines are written. --timestamps=false writes
"user item rating" lines in time order per user, the layout leave-one-out then
reads by file order (name such a file .txt: *.data is read as MovieLens u.data,
which has four columns).

--mode sequential writes shop-like sequences instead (evaluate them with
--protocol leave-one-out): sessions of --session events on average, minutes
apart and days between sessions; within a session --next of the events are
one of the previous item's three planted successors (same cluster), --repeat
of all events buy an earlier item again (recent ones more likely), and each
cluster's popular items drift by a tenth of the cluster every --drift-days
over a two-year span. Items may repeat, so lines are events, not pairs.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return fmt.Errorf("--out is required")
			}
			o.NoTimestamps = !timestamps
			o.Mode = synth.Mode(mode)
			f, err := os.Create(out)
			if err != nil {
				return err
			}
			n, err := synth.WriteInteractions(f, o)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("%s: %w", out, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %d interactions\n", out, n)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "file to write")
	cmd.Flags().IntVar(&o.Users, "users", 943, "users")
	cmd.Flags().IntVar(&o.Items, "items", 1682, "items")
	cmd.Flags().IntVar(&o.PerUser, "per-user", 106, "mean interactions per user")
	cmd.Flags().IntVar(&o.Interactions, "interactions", 0, "about this many interactions in all, instead of --per-user (users × per-user)")
	cmd.Flags().IntVar(&o.MinPerUser, "min-per-user", 0, "least interactions per user (0: 20, or half the mean when it is below 40, at least 3)")
	cmd.Flags().IntVar(&o.Clusters, "clusters", 19, "taste clusters")
	cmd.Flags().Float64Var(&o.Noise, "noise", 0.25, "share of each user's items from other clusters")
	cmd.Flags().Float64Var(&o.Skew, "skew", 1, "Zipf exponent of item popularity within a cluster, in (0, 1]; lower spreads a sparse file over more of the catalogue")
	cmd.Flags().Uint64Var(&o.Seed, "seed", 1, "random seed")
	cmd.Flags().StringVar(&mode, "mode", string(synth.Planted), "planted (independent draws, MovieLens-shaped) or sequential (sessions, transitions, repeats, drift)")
	cmd.Flags().Float64Var(&o.Sequence.Session, "session", 5, "sequential: mean events per session")
	cmd.Flags().Float64Var(&o.Sequence.Next, "next", 0.5, "sequential: share of in-session events that follow the previous item's planted successors")
	cmd.Flags().Float64Var(&o.Sequence.Repeat, "repeat", 0.1, "sequential: share of events that repeat an earlier item of the user")
	cmd.Flags().Float64Var(&o.Sequence.DriftDays, "drift-days", 30, "sequential: days between shifts of each cluster's popular items")
	cmd.Flags().BoolVar(&timestamps, "timestamps", true, "write a timestamp column (false: user item rating, each user's lines in time order)")
	return cmd
}
