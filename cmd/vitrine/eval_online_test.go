package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/experiment"
	"github.com/vitrinehq/vitrine/store"
)

func TestParseOnlineTime(t *testing.T) {
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
		got, err := parseOnlineTime(tc.in, now)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("%q: %v %v, want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"yesterday", "-3h", "7x", ""} {
		if _, err := parseOnlineTime(bad, now); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func nearly(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

// Rates, intervals and lifts, checked by hand (see eval/metrics for the
// formulas): control 5 of 10 clicked, 2 of 10 bought; treatment 8 and 6.
func TestBuildOnlineReport(t *testing.T) {
	counts := []store.OnlineCount{
		{Experiment: "ab", Variant: "control", Lists: 10, Users: 10, Clicked: 5, Converted: 2, Anonymous: 3},
		{Experiment: "ab", Variant: "control", Surface: "search", Lists: 10, Users: 10, Clicked: 5, Converted: 2},
		{Experiment: "ab", Variant: "control", Surface: "similar", Lists: 0, Anonymous: 3},
		{Experiment: "ab", Variant: "treatment", Lists: 10, Users: 9, Clicked: 8, Converted: 6},
		{Experiment: "ab", Variant: "treatment", Surface: "search", Lists: 10, Users: 9, Clicked: 8, Converted: 6},
		{Experiment: "ab", Variant: "a-variant", Lists: 4, Users: 4, Clicked: 0, Converted: 0},
	}
	rep := buildOnlineReport(counts, "control", 1.9599639845400536)
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

// `vitrine eval online` on a seeded log gives the hand-computed figures.
func TestEvalOnlineCommand(t *testing.T) {
	e := newEnv(t)
	e.vars = append(e.vars, "VITRINE_EXPERIMENT_NAME=ab", "VITRINE_EXPERIMENT_VARIANTS=control:50,treatment:50")
	s := e.store()
	ctx := t.Context()
	var ps []catalog.Product
	for i := 1; i <= 3; i++ {
		ps = append(ps, catalog.Product{ID: fmt.Sprintf("p%d", i), Title: fmt.Sprintf("Product %d", i)})
	}
	if _, err := s.UpsertProducts(ctx, ps); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Second)
	var imps []store.Impression
	var evs []catalog.Event
	ev := func(user, p string, typ catalog.EventType, at time.Time) {
		evs = append(evs, catalog.Event{ClientEventID: fmt.Sprintf("%s-%s-%d", user, typ, len(evs)), UserID: user, ProductID: p, Type: typ, OccurredAt: at})
	}
	n := 0
	imp := func(user, exp, variant string) {
		n++
		imps = append(imps, store.Impression{ID: fmt.Sprintf("00000000-0000-7000-8000-%012d", n), UserID: user, Surface: store.SurfaceSearch,
			Experiment: exp, Variant: variant, ProductIDs: []string{"p1", "p2"}, ServedAt: t0})
	}
	for i := range 10 {
		c, tr := fmt.Sprintf("c-%d", i), fmt.Sprintf("t-%d", i)
		imp(c, "ab", "control")
		imp(tr, "ab", "treatment")
		if i < 5 {
			ev(c, "p1", catalog.Click, t0.Add(10*time.Minute))
		}
		if i < 2 {
			ev(c, "p2", catalog.Purchase, t0.Add(2*time.Hour))
		}
		if i < 8 {
			ev(tr, "p2", catalog.Click, t0.Add(10*time.Minute))
		}
		if i < 6 {
			ev(tr, "p1", catalog.Purchase, t0.Add(time.Hour))
		}
	}
	ev("t-8", "p1", catalog.Click, t0.Add(45*time.Minute)) // after the 30 min window
	ev("t-9", "p3", catalog.Purchase, t0.Add(time.Hour))   // p3 was not shown
	imp("", "ab", "control")                               // anonymous: left out
	// Another experiment's list, a minute earlier: c-0's events go to the
	// newer "ab" list (last touch).
	imp("c-0", "old", "x")
	imps[len(imps)-1].ServedAt = t0.Add(-time.Minute)
	if err := s.InsertImpressions(ctx, imps); err != nil {
		t.Fatal(err)
	}
	if _, err := s.InsertEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	jsonOut, mdOut := filepath.Join(dir, "online.json"), filepath.Join(dir, "online.md")
	code, out := e.run("eval", "online", "--since", "1d", "--json", jsonOut, "--md", mdOut)
	if code != 0 {
		t.Fatalf("eval online: exit %d\n%s", code, out)
	}
	for _, want := range []string{`experiment "ab" (control "control")`, "1 anonymous lists left out",
		"0.500 [0.237, 0.763]", "0.800 [0.490, 0.943]", "+0.300 [-0.107, +0.600] +60.0% p=0.16", "+0.400 [-0.023, +0.673] +200.0% p=0.0679"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	var rep onlineReport
	b, err := os.ReadFile(jsonOut)
	if err != nil || json.Unmarshal(b, &rep) != nil {
		t.Fatalf("JSON report: %v\n%s", err, b)
	}
	if rep.Experiment != "ab" || rep.Control != "control" || rep.ClickWindow != "30m0s" || rep.AnonymousLists != 1 || len(rep.Rows) != 4 {
		t.Fatalf("report %+v", rep)
	}
	byKey := map[string]onlineRow{}
	for _, r := range rep.Rows {
		byKey[r.Surface+"/"+r.Variant] = r
	}
	ctl, tr := byKey["all/control"], byKey["all/treatment"]
	if ctl.Lists != 10 || ctl.Users != 10 || ctl.Clicked != 5 || ctl.Converted != 2 || !nearly(ctl.CTR.Low, 0.2365930905) {
		t.Errorf("control %+v", ctl)
	}
	if tr.Lists != 10 || tr.Clicked != 8 || tr.Converted != 6 || tr.CTRLift == nil || !nearly(tr.CTRLift.PValue, 0.1595989424) ||
		tr.CVRLift == nil || !nearly(tr.CVRLift.PValue, 0.0678891549) || !nearly(*tr.CVRLift.Relative, 2) {
		t.Errorf("treatment %+v", tr)
	}
	if byKey["search/treatment"].Clicked != 8 {
		t.Errorf("per-surface row %+v", byKey["search/treatment"])
	}
	md, _ := os.ReadFile(mdOut)
	if !strings.Contains(string(md), "# Online metrics") || !strings.Contains(string(md), "| ab | all | treatment | 10 | 10 | 8 | 0.800 [0.490, 0.943] |") {
		t.Errorf("Markdown report:\n%s", md)
	}

	// A one-hour click window lets t-8's click count: 9 of 10, p = 0.05096.
	code, out = e.run("eval", "online", "--since", "1d", "--surface", "search", "--click-window", "1h", "--json", jsonOut)
	if code != 0 {
		t.Fatalf("eval online --click-window 1h: exit %d\n%s", code, out)
	}
	b, _ = os.ReadFile(jsonOut)
	rep = onlineReport{}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Rows {
		if r.Variant == "treatment" && (r.Clicked != 9 || !nearly(r.CTRLift.PValue, 0.0509619370)) {
			t.Errorf("treatment with a 1 h click window: %+v %+v", r, r.CTRLift)
		}
	}
	// Anonymous lists on request; every experiment with --experiment "".
	code, out = e.run("eval", "online", "--since", "1d", "--include-anonymous", "--experiment", "")
	if code != 0 || !strings.Contains(out, "1 anonymous lists included") || !strings.Contains(out, "old ") || !strings.Contains(out, "every experiment") {
		t.Errorf("--include-anonymous --experiment '': exit %d\n%s", code, out)
	}
	// Lists older than --since are not counted.
	code, out = e.run("eval", "online", "--since", "1h")
	if code != 0 || !strings.Contains(out, "no lists served") {
		t.Errorf("--since 1h: exit %d\n%s", code, out)
	}
	for _, args := range [][]string{
		{"--surface", "home"}, {"--since", "yesterday"}, {"--click-window", "0s"}, {"--confidence", "95"}, {"--since", "1h", "--until", "2h"},
	} {
		code, out := e.run(append([]string{"eval", "online"}, args...)...)
		if code == 0 || !strings.Contains(out, strings.TrimPrefix(args[0], "--")) {
			t.Errorf("eval online %v: exit %d\n%s", args, code, out)
		}
	}
}

func TestDescribeVariants(t *testing.T) {
	e, err := experiment.Parse("x", "control:3,treatment:1", "treatment.vector_weight=2,treatment.mmr_lambda=0.7")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := describeVariants(e), "control 75% (no overrides), treatment 25% (mmr_lambda=0.7, vector_weight=2)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
