package online

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/records"
)

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"7d", now.Add(-7 * 24 * time.Hour)},
		{"36h", now.Add(-36 * time.Hour)},
		{"90m", now.Add(-90 * time.Minute)},
		{"2026-03-01", time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)},
		{"2026-03-01T08:30:00Z", time.Date(2026, 3, 1, 8, 30, 0, 0, time.UTC)},
	} {
		got, err := ParseTime(tc.in, now)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("%q: %v %v, want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"yesterday", "-3h", "7x", ""} {
		if _, err := ParseTime(bad, now); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func nearly(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

// Rates, intervals and lifts, checked by hand (see eval/metrics for the
// formulas): control 5 of 10 clicked, 2 of 10 bought; treatment 8 and 6.
func TestBuild(t *testing.T) {
	counts := []records.OnlineCount{
		{Experiment: "ab", Variant: "control", Lists: 10, Users: 10, Clicked: 5, Converted: 2, Anonymous: 3},
		{Experiment: "ab", Variant: "control", Surface: "search", Lists: 10, Users: 10, Clicked: 5, Converted: 2},
		{Experiment: "ab", Variant: "control", Surface: "similar", Lists: 0, Anonymous: 3},
		{Experiment: "ab", Variant: "treatment", Lists: 10, Users: 9, Clicked: 8, Converted: 6},
		{Experiment: "ab", Variant: "treatment", Surface: "search", Lists: 10, Users: 9, Clicked: 8, Converted: 6},
		{Experiment: "ab", Variant: "a-variant", Lists: 4, Users: 4, Clicked: 0, Converted: 0},
	}
	rep := Build(counts, "control", 1.9599639845400536)
	if rep.AnonymousLists != 3 {
		t.Errorf("anonymous %d", rep.AnonymousLists)
	}
	var order []string
	for _, r := range rep.Rows {
		order = append(order, r.Surface+"/"+r.Variant)
	}
	// all before search; the control first; the empty similar row dropped.
	if got := strings.Join(order, " "); got != "all/control all/a-variant all/treatment search/control search/treatment" {
		t.Fatalf("rows %s", got)
	}
	ctl, tr, zero := rep.Rows[0], rep.Rows[2], rep.Rows[1]
	if ctl.CTRLift != nil || !nearly(ctl.CTR.Value, 0.5) || !nearly(ctl.CTR.Low, 0.2365930905) || !nearly(ctl.CTR.High, 0.7634069095) {
		t.Errorf("control CTR %+v lift %v", ctl.CTR, ctl.CTRLift)
	}
	if !nearly(ctl.CVR.Value, 0.2) || !nearly(ctl.CVR.Low, 0.0566821515) || !nearly(ctl.CVR.High, 0.5098375285) {
		t.Errorf("control CVR %+v", ctl.CVR)
	}
	if !nearly(tr.CTR.Low, 0.4901624715) || !nearly(tr.CTR.High, 0.9433178485) || !nearly(tr.CVR.Low, 0.3126737697) || !nearly(tr.CVR.High, 0.8318196703) {
		t.Errorf("treatment rates %+v %+v", tr.CTR, tr.CVR)
	}
	// CTR: 0.8 − 0.5; pooled 13/20, se = √(0.65·0.35·0.2) = 0.213307, z = 1.406422.
	l := tr.CTRLift
	if l == nil || !nearly(l.Diff, 0.3) || !nearly(*l.Relative, 0.6) || !nearly(l.PValue, 0.1595989424) ||
		!nearly(l.DiffLow, -0.1066724653) || !nearly(l.DiffHigh, 0.5998719821) {
		t.Errorf("CTR lift %+v", l)
	}
	// CVR: 0.6 − 0.2; pooled 8/20, se = √(0.4·0.6·0.2) = 0.219089, z = 1.825742.
	if l := tr.CVRLift; l == nil || !nearly(l.Diff, 0.4) || !nearly(*l.Relative, 2) || !nearly(l.PValue, 0.0678891549) {
		t.Errorf("CVR lift %+v", l)
	}
	// Nothing happened: rates 0 with a real upper bound, p = 1.
	// 0 of 4: upper bound z²/(4 + z²) = 3.841459/7.841459; vs 5 of 10, z = −1.7638.
	if zero.Variant != "a-variant" || zero.CTR.Value != 0 || !nearly(zero.CTR.High, 0.4898908365) || zero.CTRLift == nil || zero.CTRLift.PValue < 0.05 {
		t.Errorf("zero row %+v lift %+v", zero, zero.CTRLift)
	}
	if _, err := json.Marshal(rep); err != nil {
		t.Errorf("report does not marshal: %v", err)
	}
}

func TestParseTimeError(t *testing.T) {
	if _, err := ParseTime("yesterday", time.Now()); !errors.Is(err, ErrBadTime) {
		t.Errorf("error %v, want ErrBadTime", err)
	}
}

// The report orders surfaces as records.Surfaces does, the total over
// every surface first.
func TestSurfaceOrder(t *testing.T) {
	if r := surfaceRank(AllSurfaces); r != -1 {
		t.Errorf("surfaceRank(%q) = %d, want -1 (first)", AllSurfaces, r)
	}
	for i, s := range records.Surfaces() {
		if r := surfaceRank(s); r != i {
			t.Errorf("surfaceRank(%q) = %d, want %d", s, r, i)
		}
	}
}

func TestTextAndMarkdown(t *testing.T) {
	rep := Build([]records.OnlineCount{
		{Experiment: "ab", Variant: "control", Lists: 10, Users: 10, Clicked: 5, Converted: 2},
		{Experiment: "ab", Variant: "treatment", Lists: 10, Users: 9, Clicked: 8, Converted: 6},
	}, "control", 1.9599639845400536)
	rep.Experiment, rep.Confidence, rep.ClickWindow, rep.ConversionWindow = "ab", 0.95, "30m0s", "24h0m0s"
	tests := []struct {
		name  string
		write func(*strings.Builder, Report) error
		want  []string
	}{
		{"text", func(b *strings.Builder, r Report) error { return Text(b, r) },
			[]string{`experiment "ab" (control "control")`, "0.500 [0.237, 0.763]", "+0.300 [-0.107, +0.600] +60.0% p=0.16"}},
		{"markdown", func(b *strings.Builder, r Report) error { return Markdown(b, r) },
			[]string{"# Online metrics", "| ab | all | treatment | 10 | 9 | 8 | 0.800 [0.490, 0.943] |"}},
		{"empty", func(b *strings.Builder, r Report) error { r.Rows = nil; return Text(b, r) },
			[]string{"no lists served"}},
	}
	for _, tc := range tests {
		var b strings.Builder
		if err := tc.write(&b, rep); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("%s lacks %q:\n%s", tc.name, w, b.String())
			}
		}
	}
}
