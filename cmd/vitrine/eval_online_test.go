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
	"github.com/vitrinehq/vitrine/eval/online"
	"github.com/vitrinehq/vitrine/records"
)

func nearly(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

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
	var imps []records.Impression
	var evs []catalog.Event
	ev := func(user, p string, typ catalog.EventType, at time.Time) {
		evs = append(evs, catalog.Event{ClientEventID: fmt.Sprintf("%s-%s-%d", user, typ, len(evs)), UserID: user, ProductID: p, Type: typ, OccurredAt: at})
	}
	n := 0
	imp := func(user, exp, variant string) {
		n++
		imps = append(imps, records.Impression{ID: fmt.Sprintf("00000000-0000-7000-8000-%012d", n), UserID: user, Surface: records.SurfaceSearch,
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
	var rep online.Report
	b, err := os.ReadFile(jsonOut)
	if err != nil || json.Unmarshal(b, &rep) != nil {
		t.Fatalf("JSON report: %v\n%s", err, b)
	}
	if rep.Experiment != "ab" || rep.Control != "control" || rep.ClickWindow != "30m0s" || rep.AnonymousLists != 1 || len(rep.Rows) != 4 {
		t.Fatalf("report %+v", rep)
	}
	byKey := map[string]online.Row{}
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
	rep = online.Report{}
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
