// Package online is the online evaluation protocol behind `vitrine eval
// online`: it turns the impression log's counts per experiment, variant and
// surface (lists served, clicked, converted) into CTR and CVR with Wilson
// intervals, compares each variant with the control (Newcombe's interval of
// the difference, a two-proportion z-test), orders the rows and writes them
// as text or Markdown. Counting and attribution are the store's; the
// statistics are package eval/metrics'.
package online

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vitrinehq/vitrine/eval/metrics"
	"github.com/vitrinehq/vitrine/records"
)

// AllSurfaces labels a variant's row over every surface.
const AllSurfaces = "all"

// ErrBadTime is returned by ParseTime for text that is neither a duration
// back from now nor a time.
var ErrBadTime = errors.New("neither a duration (90m, 36h, 7d) nor a time (2006-01-02, RFC 3339)")

// Rate is a proportion with its confidence interval.
type Rate struct {
	Value float64 `json:"value"`
	Low   float64 `json:"low"`
	High  float64 `json:"high"`
}

// Lift compares a variant's rate with the control's.
type Lift struct {
	Diff     float64 `json:"diff"` // absolute, variant − control
	DiffLow  float64 `json:"diff_low"`
	DiffHigh float64 `json:"diff_high"`
	// Relative is Diff over the control's rate; absent when that is 0.
	Relative *float64 `json:"relative,omitempty"`
	PValue   float64  `json:"p_value"`
}

// Row is one variant on one surface (or on all of them).
type Row struct {
	Experiment string `json:"experiment"`
	Variant    string `json:"variant"`
	Surface    string `json:"surface"` // AllSurfaces: the variant over every surface
	Lists      int64  `json:"lists"`
	Users      int64  `json:"users"`
	Clicked    int64  `json:"clicked"`
	CTR        Rate   `json:"ctr"`
	Converted  int64  `json:"converted"`
	CVR        Rate   `json:"cvr"`
	CTRLift    *Lift  `json:"ctr_lift,omitempty"`
	CVRLift    *Lift  `json:"cvr_lift,omitempty"`
}

// Report is an online-metrics report: the query that selected the lists
// and a row per experiment, surface and variant.
type Report struct {
	Since            time.Time `json:"since"`
	Until            time.Time `json:"until"`
	Experiment       string    `json:"experiment"` // "" = every experiment
	Control          string    `json:"control"`
	Surface          string    `json:"surface,omitempty"`
	ClickWindow      string    `json:"click_window"`
	ConversionWindow string    `json:"conversion_window"`
	Confidence       float64   `json:"confidence"`
	IncludeAnonymous bool      `json:"include_anonymous"`
	AnonymousLists   int64     `json:"anonymous_lists"`
	Rows             []Row     `json:"rows"`
}

// ParseTime reads a duration back from now (Go durations, or whole days as
// "7d") or a time (RFC 3339, or a date at UTC midnight).
func ParseTime(s string, now time.Time) (time.Time, error) {
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
	return time.Time{}, fmt.Errorf("%q is %w", s, ErrBadTime)
}

// Build turns the store's counts into rates with intervals at normal
// quantile z, compares each variant with the control of its experiment on
// the same surface, and orders the rows: experiment, then all surfaces
// before each surface, then the control before the other variants. Rows
// without lists are left out.
func Build(counts []records.OnlineCount, control string, z float64) Report {
	rep := Report{Control: control, Rows: []Row{}}
	anon := map[string]int64{} // per experiment, from the variants' totals
	type key struct{ exp, surface string }
	controls := map[key]records.OnlineCount{}
	for _, c := range counts {
		if c.Surface == "" {
			anon[c.Experiment+"\x00"+c.Variant] = c.Anonymous
		}
		if c.Variant == control && c.Lists > 0 {
			controls[key{c.Experiment, c.Surface}] = c
		}
	}
	for _, n := range anon {
		rep.AnonymousLists += n
	}
	for _, c := range counts {
		if c.Lists == 0 {
			continue
		}
		r := Row{Experiment: c.Experiment, Variant: c.Variant, Surface: cmp.Or(c.Surface, AllSurfaces),
			Lists: c.Lists, Users: c.Users, Clicked: c.Clicked, Converted: c.Converted,
			CTR: rate(c.Clicked, c.Lists, z), CVR: rate(c.Converted, c.Lists, z)}
		if ctl, ok := controls[key{c.Experiment, c.Surface}]; ok && c.Variant != control {
			r.CTRLift = lift(c.Clicked, c.Lists, ctl.Clicked, ctl.Lists, z)
			r.CVRLift = lift(c.Converted, c.Lists, ctl.Converted, ctl.Lists, z)
		}
		rep.Rows = append(rep.Rows, r)
	}
	slices.SortStableFunc(rep.Rows, func(a, b Row) int {
		return cmp.Or(cmp.Compare(a.Experiment, b.Experiment), cmp.Compare(surfaceRank(a.Surface), surfaceRank(b.Surface)),
			cmp.Compare(variantRank(a.Variant != control), variantRank(b.Variant != control)), cmp.Compare(a.Variant, b.Variant))
	})
	return rep
}

func rate(k, n int64, z float64) Rate {
	lo, hi := metrics.Wilson(int(k), int(n), z)
	return Rate{Value: float64(k) / float64(n), Low: lo, High: hi}
}

func lift(k1, n1, k2, n2 int64, z float64) *Lift {
	t := metrics.TwoProportionTest(int(k1), int(n1), int(k2), int(n2), z)
	l := &Lift{Diff: t.Diff, DiffLow: t.DiffLow, DiffHigh: t.DiffHigh, PValue: t.P}
	if !math.IsNaN(t.Relative) {
		l.Relative = &t.Relative
	}
	return l
}

func surfaceRank(s string) int {
	if s == AllSurfaces {
		return -1
	}
	return slices.Index(records.Surfaces(), s)
}

func variantRank(notControl bool) int {
	if notControl {
		return 1
	}
	return 0
}

// String prints "0.500 [0.237, 0.763]".
func (r Rate) String() string {
	return fmt.Sprintf("%.3f [%.3f, %.3f]", r.Value, r.Low, r.High)
}

// String prints "+0.300 [+0.012, +0.541] +60.0% p=0.160" ("" for no
// comparison).
func (l *Lift) String() string {
	if l == nil {
		return ""
	}
	rel := "n/a"
	if l.Relative != nil {
		rel = fmt.Sprintf("%+.1f%%", 100**l.Relative)
	}
	return fmt.Sprintf("%+.3f [%+.3f, %+.3f] %s p=%.3g", l.Diff, l.DiffLow, l.DiffHigh, rel, l.PValue)
}

// Describe says in one sentence what the report covers.
func (rep Report) Describe() string {
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

// Text writes the report as an aligned table.
func Text(w io.Writer, rep Report) error {
	fmt.Fprintf(w, "online metrics: %s\n", rep.Describe())
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

// Markdown writes the report as a Markdown table.
func Markdown(w io.Writer, rep Report) error {
	var b strings.Builder
	d := rep.Describe()
	fmt.Fprintf(&b, "# Online metrics\n\n%s.\n\n", strings.ToUpper(d[:1])+d[1:])
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
