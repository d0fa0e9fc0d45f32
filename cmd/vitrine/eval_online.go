package main

import (
	"context"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vitrinehq/vitrine/eval/online"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/report"
	"github.com/vitrinehq/vitrine/store"
)

// evalOnlineOptions are the flags of eval online.
type evalOnlineOptions struct {
	online.Request
	jsonOut, mdOut string
}

func newEvalOnlineCmd(a *app) *cobra.Command {
	var o evalOnlineOptions
	cmd := &cobra.Command{
		Use:   "online",
		Short: "Online metrics from the impression log: CTR and CVR per A/B variant and surface, with intervals",
		Long: `Count the lists the API served (the impression log) per experiment, variant
and surface, and how many led to a click and to a purchase:

  CTR  lists with at least one attributed click / lists served
  CVR  lists with at least one attributed purchase / lists served

Attribution of click and purchase events:
  - an event carrying impression_id counts for that list when it happened
    less than the window after the list was served;
  - an event without impression_id counts for the latest list served to the
    same user that showed the product, served at most the window before the
    event (last touch: an event credits one list at most).
The click window (--click-window, 30m) applies to clicks, the conversion
window (--conversion-window, 24h) to purchases. Lists served less than a
window ago have not had their whole window yet; variants run side by side
are affected alike.

Intervals are Wilson score intervals; each variant is compared with the
control (--control, default the configured experiment's first variant) by
the difference of rates with Newcombe's interval and a two-proportion
z-test's p-value. The test treats lists as independent although one user
sees many, so read p-values near the threshold with care.

Anonymous lists (no user_id) always get the control and cannot be
randomised: they are left out unless --include-anonymous.`,
		Example: `  vitrine eval online --since 7d
  vitrine eval online --since 2025-06-01 --surface search --click-window 1h --json online.json --md online.md`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.ExperimentGiven = cmd.Flags().Changed("experiment")
			return a.runEvalOnline(cmd.Context(), cmd.OutOrStdout(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Since, "since", "7d", "first lists to count: a duration back from now (90m, 36h, 7d) or a time (2006-01-02, RFC 3339)")
	f.StringVar(&o.Until, "until", "", "count lists served before this (same forms as --since; default now)")
	f.StringVar(&o.Surface, "surface", "", "only this surface: "+strings.Join(records.Surfaces(), ", "))
	f.StringVar(&o.Experiment, "experiment", "", "only this experiment (default experiment.name; \"\" reports every experiment)")
	f.StringVar(&o.Control, "control", "", "the variant others are compared with (default the configured experiment's first variant, else \"control\")")
	f.DurationVar(&o.ClickWindow, "click-window", 30*time.Minute, "a click counts for a list served at most this long before it")
	f.DurationVar(&o.ConversionWindow, "conversion-window", 24*time.Hour, "a purchase counts for a list served at most this long before it")
	f.Float64Var(&o.Confidence, "confidence", 0.95, "confidence level of the intervals")
	f.BoolVar(&o.IncludeAnonymous, "include-anonymous", false, "count lists served without a user id (always the control)")
	f.StringVar(&o.jsonOut, "json", "", "write the report as JSON to this file")
	f.StringVar(&o.mdOut, "md", "", "write the report as Markdown to this file")
	return cmd
}

func (a *app) runEvalOnline(ctx context.Context, out io.Writer, o evalOnlineOptions) error {
	q, z, err := o.Query(time.Now())
	if err != nil {
		return err
	}
	configured, err := a.cfg.ParseExperiment()
	if err != nil {
		return err
	}
	o.Resolve(configured)
	q.Experiment = o.Experiment
	return a.withStore(ctx, func(st *store.Store) error {
		counts, err := st.OnlineMetrics(ctx, q)
		if err != nil {
			return err
		}
		rep := o.Report(counts, q, z)
		if err := online.Text(out, rep); err != nil {
			return err
		}
		return report.Write(o.jsonOut, o.mdOut, rep, online.Markdown)
	})
}
