package main

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vitrinehq/vitrine/eval/metrics"
	"github.com/vitrinehq/vitrine/report"
	"github.com/vitrinehq/vitrine/store"
)

// onlineAllSurfaces labels a variant's row over every surface.
const onlineAllSurfaces = "all"

// onlineRate is a proportion with its confidence interval.
type onlineRate struct {
	Value float64 `json:"value"`
	Low   float64 `json:"low"`
	High  float64 `json:"high"`
}

// onlineLift compares a variant's rate with the control's.
type onlineLift struct {
	Diff     float64 `json:"diff"` // absolute, variant − control
	DiffLow  float64 `json:"diff_low"`
	DiffHigh float64 `json:"diff_high"`
	// Relative is Diff over the control's rate; absent when that is 0.
	Relative *float64 `json:"relative,omitempty"`
	PValue   float64  `json:"p_value"`
}

type onlineRow struct {
	Experiment string      `json:"experiment"`
	Variant    string      `json:"variant"`
	Surface    string      `json:"surface"` // "all": the variant over every surface
	Lists      int64       `json:"lists"`
	Users      int64       `json:"users"`
	Clicked    int64       `json:"clicked"`
	CTR        onlineRate  `json:"ctr"`
	Converted  int64       `json:"converted"`
	CVR        onlineRate  `json:"cvr"`
	CTRLift    *onlineLift `json:"ctr_lift,omitempty"`
	CVRLift    *onlineLift `json:"cvr_lift,omitempty"`
}

type onlineReport struct {
	Since            time.Time   `json:"since"`
	Until            time.Time   `json:"until"`
	Experiment       string      `json:"experiment"` // "" = every experiment
	Control          string      `json:"control"`
	Surface          string      `json:"surface,omitempty"`
	ClickWindow      string      `json:"click_window"`
	ConversionWindow string      `json:"conversion_window"`
	Confidence       float64     `json:"confidence"`
	IncludeAnonymous bool        `json:"include_anonymous"`
	AnonymousLists   int64       `json:"anonymous_lists"`
	Rows             []onlineRow `json:"rows"`
}

func newEvalOnlineCmd(a *app) *cobra.Command {
	var (
		since, until, surface, exp, control, jsonOut, mdOut string
		clickWindow, convWindow                             time.Duration
		confidence                                          float64
		anonymous                                           bool
	)
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
			ctx := cmd.Context()
			now := time.Now()
			q := store.OnlineQuery{ClickWindow: clickWindow, ConversionWindow: convWindow, IncludeAnonymous: anonymous, Until: now}
			var err error
			if q.Since, err = parseOnlineTime(since, now); err != nil {
				return fmt.Errorf("--since: %w", err)
			}
			if until != "" {
				if q.Until, err = parseOnlineTime(until, now); err != nil {
					return fmt.Errorf("--until: %w", err)
				}
			}
			if !q.Since.Before(q.Until) {
				return fmt.Errorf("--since (%s) is not before --until (%s)", q.Since.Format(time.RFC3339), q.Until.Format(time.RFC3339))
			}
			if surface != "" && !slices.Contains(store.Surfaces(), surface) {
				return fmt.Errorf("--surface %q: want one of %s", surface, strings.Join(store.Surfaces(), ", "))
			}
			if clickWindow <= 0 || convWindow <= 0 {
				return fmt.Errorf("--click-window and --conversion-window must be positive")
			}
			z, err := metrics.ZForConfidence(confidence)
			if err != nil {
				return fmt.Errorf("--confidence %v: %w", confidence, err)
			}
			configured, err := a.cfg.ParseExperiment()
			if err != nil {
				return err
			}
			if !cmd.Flags().Changed("experiment") && configured != nil {
				exp = configured.Name
			}
			if control == "" {
				control = "control"
				if configured != nil && configured.Name == exp {
					control = configured.Control().Name
				}
			}
			q.Experiment, q.Surface = exp, surface
			st, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			counts, err := st.OnlineMetrics(ctx, q)
			if err != nil {
				return err
			}
			rep := buildOnlineReport(counts, control, z)
			rep.Since, rep.Until, rep.Experiment, rep.Surface = q.Since.UTC(), q.Until.UTC(), exp, surface
			rep.ClickWindow, rep.ConversionWindow = clickWindow.String(), convWindow.String()
			rep.Confidence, rep.IncludeAnonymous = confidence, anonymous
			if err := onlineText(cmd.OutOrStdout(), rep); err != nil {
				return err
			}
			return report.Write(jsonOut, mdOut, rep, onlineMarkdown)
		},
	}
	f := cmd.Flags()
	f.StringVar(&since, "since", "7d", "first lists to count: a duration back from now (90m, 36h, 7d) or a time (2006-01-02, RFC 3339)")
	f.StringVar(&until, "until", "", "count lists served before this (same forms as --since; default now)")
	f.StringVar(&surface, "surface", "", "only this surface: "+strings.Join(store.Surfaces(), ", "))
	f.StringVar(&exp, "experiment", "", "only this experiment (default experiment.name; \"\" reports every experiment)")
	f.StringVar(&control, "control", "", "the variant others are compared with (default the configured experiment's first variant, else \"control\")")
	f.DurationVar(&clickWindow, "click-window", 30*time.Minute, "a click counts for a list served at most this long before it")
	f.DurationVar(&convWindow, "conversion-window", 24*time.Hour, "a purchase counts for a list served at most this long before it")
	f.Float64Var(&confidence, "confidence", 0.95, "confidence level of the intervals")
	f.BoolVar(&anonymous, "include-anonymous", false, "count lists served without a user id (always the control)")
	f.StringVar(&jsonOut, "json", "", "write the report as JSON to this file")
	f.StringVar(&mdOut, "md", "", "write the report as Markdown to this file")
	return cmd
}

// parseOnlineTime reads a duration back from now (Go durations, or whole days
// as "7d") or a time (RFC 3339, or a date at UTC midnight).
func parseOnlineTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if d, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(d); err == nil && n >= 0 {
			return now.Add(-time.Duration(n) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("%q is negative", s)
		}
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is neither a duration (90m, 36h, 7d) nor a time (2006-01-02, RFC 3339)", s)
}

// buildOnlineReport turns the store's counts into rates with intervals at
// normal quantile z, compares each variant with the control of its
// experiment on the same surface, and orders the rows: experiment, then
// all surfaces before each surface, then the control before the other
// variants. Rows without lists are left out.
func buildOnlineReport(counts []store.OnlineCount, control string, z float64) onlineReport {
	rep := onlineReport{Control: control, Rows: []onlineRow{}}
	anon := map[string]int64{} // per experiment, from the variants' totals
	for _, c := range counts {
		if c.Surface == "" {
			anon[c.Experiment+"\x00"+c.Variant] = c.Anonymous
		}
	}
	for _, n := range anon {
		rep.AnonymousLists += n
	}
	type key struct{ exp, surface string }
	controls := map[key]store.OnlineCount{}
	for _, c := range counts {
		if c.Variant == control && c.Lists > 0 {
			controls[key{c.Experiment, c.Surface}] = c
		}
	}
	rate := func(k, n int64) onlineRate {
		lo, hi := metrics.Wilson(int(k), int(n), z)
		return onlineRate{Value: float64(k) / float64(n), Low: lo, High: hi}
	}
	lift := func(k1, n1, k2, n2 int64) *onlineLift {
		t := metrics.TwoProportionTest(int(k1), int(n1), int(k2), int(n2), z)
		l := &onlineLift{Diff: t.Diff, DiffLow: t.DiffLow, DiffHigh: t.DiffHigh, PValue: t.P}
		if !math.IsNaN(t.Relative) {
			l.Relative = &t.Relative
		}
		return l
	}
	for _, c := range counts {
		if c.Lists == 0 {
			continue
		}
		r := onlineRow{Experiment: c.Experiment, Variant: c.Variant, Surface: cmp.Or(c.Surface, onlineAllSurfaces),
			Lists: c.Lists, Users: c.Users, Clicked: c.Clicked, Converted: c.Converted,
			CTR: rate(c.Clicked, c.Lists), CVR: rate(c.Converted, c.Lists)}
		if ctl, ok := controls[key{c.Experiment, c.Surface}]; ok && c.Variant != control {
			r.CTRLift = lift(c.Clicked, c.Lists, ctl.Clicked, ctl.Lists)
			r.CVRLift = lift(c.Converted, c.Lists, ctl.Converted, ctl.Lists)
		}
		rep.Rows = append(rep.Rows, r)
	}
	surfaceRank := func(s string) int {
		if s == onlineAllSurfaces {
			return -1
		}
		return slices.Index(store.Surfaces(), s)
	}
	slices.SortStableFunc(rep.Rows, func(a, b onlineRow) int {
		return cmp.Or(cmp.Compare(a.Experiment, b.Experiment), cmp.Compare(surfaceRank(a.Surface), surfaceRank(b.Surface)),
			cmp.Compare(onlineRank(a.Variant != control), onlineRank(b.Variant != control)), cmp.Compare(a.Variant, b.Variant))
	})
	return rep
}

func onlineRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (r onlineRate) String() string {
	return fmt.Sprintf("%.3f [%.3f, %.3f]", r.Value, r.Low, r.High)
}

// String prints "+0.300 [+0.012, +0.541] +60.0% p=0.160" ("" for no
// comparison).
func (l *onlineLift) String() string {
	if l == nil {
		return ""
	}
	rel := "n/a"
	if l.Relative != nil {
		rel = fmt.Sprintf("%+.1f%%", 100**l.Relative)
	}
	return fmt.Sprintf("%+.3f [%+.3f, %+.3f] %s p=%.3g", l.Diff, l.DiffLow, l.DiffHigh, rel, l.PValue)
}

func (rep onlineReport) describe() string {
	scope := "every experiment"
	if rep.Experiment != "" {
		scope = fmt.Sprintf("experiment %q (control %q)", rep.Experiment, rep.Control)
	}
	if rep.Surface != "" {
		scope += ", surface " + rep.Surface
	}
	anon := fmt.Sprintf("%d anonymous lists left out", rep.AnonymousLists)
	if rep.IncludeAnonymous {
		anon = fmt.Sprintf("%d anonymous lists included", rep.AnonymousLists)
	}
	return fmt.Sprintf("lists served %s to %s, %s; clicks within %s and purchases within %s of a list; %.0f%% intervals; %s",
		rep.Since.Format("2006-01-02 15:04"), rep.Until.Format("2006-01-02 15:04 UTC"), scope,
		rep.ClickWindow, rep.ConversionWindow, 100*rep.Confidence, anon)
}

func onlineText(w io.Writer, rep onlineReport) error {
	fmt.Fprintf(w, "online metrics: %s\n", rep.describe())
	if len(rep.Rows) == 0 {
		_, err := fmt.Fprintln(w, "no lists served in that period (is the impression log on? see impressions.enabled)")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "experiment\tsurface\tvariant\tlists\tusers\tclicked\tCTR [interval]\tCTR vs control\tbought\tCVR [interval]\tCVR vs control")
	for _, r := range rep.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\t%d\t%s\t%s\n", cmp.Or(r.Experiment, "-"), r.Surface, cmp.Or(r.Variant, "-"),
			r.Lists, r.Users, r.Clicked, r.CTR, r.CTRLift, r.Converted, r.CVR, r.CVRLift)
	}
	return tw.Flush()
}

func onlineMarkdown(w io.Writer, rep onlineReport) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Online metrics\n\n%s.\n\n", strings.ToUpper(rep.describe()[:1])+rep.describe()[1:])
	b.WriteString("CTR: share of lists with an attributed click; CVR: share of lists with an attributed purchase. ")
	b.WriteString("Intervals are Wilson score intervals; \"vs control\" is the difference of rates with Newcombe's interval, the relative lift and a two-proportion z-test's p-value.\n\n")
	if len(rep.Rows) == 0 {
		b.WriteString("No lists served in that period.\n")
	} else {
		b.WriteString("| experiment | surface | variant | lists | users | clicked | CTR | CTR vs control | bought | CVR | CVR vs control |\n")
		b.WriteString("|---|---|---|---:|---:|---:|---|---|---:|---|---|\n")
		for _, r := range rep.Rows {
			fmt.Fprintf(&b, "| %s | %s | %s | %d | %d | %d | %s | %s | %d | %s | %s |\n", cmp.Or(r.Experiment, "-"), r.Surface, cmp.Or(r.Variant, "-"),
				r.Lists, r.Users, r.Clicked, r.CTR, r.CTRLift, r.Converted, r.CVR, r.CVRLift)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
