package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vitrinehq/vitrine/eval/metrics"
	"github.com/vitrinehq/vitrine/eval/online"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/report"
)

// evalOnlineOptions are the flags of eval online.
type evalOnlineOptions struct {
	since, until, surface, exp, control, jsonOut, mdOut string
	clickWindow, convWindow                             time.Duration
	confidence                                          float64
	anonymous, expGiven                                 bool
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
			o.expGiven = cmd.Flags().Changed("experiment")
			return a.runEvalOnline(cmd.Context(), cmd.OutOrStdout(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.since, "since", "7d", "first lists to count: a duration back from now (90m, 36h, 7d) or a time (2006-01-02, RFC 3339)")
	f.StringVar(&o.until, "until", "", "count lists served before this (same forms as --since; default now)")
	f.StringVar(&o.surface, "surface", "", "only this surface: "+strings.Join(records.Surfaces(), ", "))
	f.StringVar(&o.exp, "experiment", "", "only this experiment (default experiment.name; \"\" reports every experiment)")
	f.StringVar(&o.control, "control", "", "the variant others are compared with (default the configured experiment's first variant, else \"control\")")
	f.DurationVar(&o.clickWindow, "click-window", 30*time.Minute, "a click counts for a list served at most this long before it")
	f.DurationVar(&o.convWindow, "conversion-window", 24*time.Hour, "a purchase counts for a list served at most this long before it")
	f.Float64Var(&o.confidence, "confidence", 0.95, "confidence level of the intervals")
	f.BoolVar(&o.anonymous, "include-anonymous", false, "count lists served without a user id (always the control)")
	f.StringVar(&o.jsonOut, "json", "", "write the report as JSON to this file")
	f.StringVar(&o.mdOut, "md", "", "write the report as Markdown to this file")
	return cmd
}

// query checks the flags and turns them into the store's query.
func (o evalOnlineOptions) query(now time.Time) (records.OnlineQuery, error) {
	q := records.OnlineQuery{ClickWindow: o.clickWindow, ConversionWindow: o.convWindow, IncludeAnonymous: o.anonymous, Until: now}
	var err error
	if q.Since, err = online.ParseTime(o.since, now); err != nil {
		return q, fmt.Errorf("--since: %w", err)
	}
	if o.until != "" {
		if q.Until, err = online.ParseTime(o.until, now); err != nil {
			return q, fmt.Errorf("--until: %w", err)
		}
	}
	if !q.Since.Before(q.Until) {
		return q, fmt.Errorf("--since (%s) is not before --until (%s)", q.Since.Format(time.RFC3339), q.Until.Format(time.RFC3339))
	}
	if o.surface != "" && !slices.Contains(records.Surfaces(), o.surface) {
		return q, fmt.Errorf("--surface %q: want one of %s", o.surface, strings.Join(records.Surfaces(), ", "))
	}
	if o.clickWindow <= 0 || o.convWindow <= 0 {
		return q, errors.New("--click-window and --conversion-window must be positive")
	}
	q.Surface = o.surface
	return q, nil
}

func (a *app) runEvalOnline(ctx context.Context, out io.Writer, o evalOnlineOptions) error {
	q, err := o.query(time.Now())
	if err != nil {
		return err
	}
	z, err := metrics.ZForConfidence(o.confidence)
	if err != nil {
		return fmt.Errorf("--confidence %v: %w", o.confidence, err)
	}
	configured, err := a.cfg.ParseExperiment()
	if err != nil {
		return err
	}
	if !o.expGiven && configured != nil {
		o.exp = configured.Name
	}
	if o.control == "" {
		o.control = "control"
		if configured != nil && configured.Name == o.exp {
			o.control = configured.Control().Name
		}
	}
	q.Experiment = o.exp
	st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	counts, err := st.OnlineMetrics(ctx, q)
	if err != nil {
		return err
	}
	rep := online.Build(counts, o.control, z)
	rep.Since, rep.Until, rep.Experiment, rep.Surface = q.Since.UTC(), q.Until.UTC(), o.exp, o.surface
	rep.ClickWindow, rep.ConversionWindow = o.clickWindow.String(), o.convWindow.String()
	rep.Confidence, rep.IncludeAnonymous = o.confidence, o.anonymous
	if err := online.Text(out, rep); err != nil {
		return err
	}
	return report.Write(o.jsonOut, o.mdOut, rep, online.Markdown)
}
