package online

import (
	"strings"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/experiment"
	"github.com/vitrinehq/vitrine/records"
)

func TestRequestQuery(t *testing.T) {
	now := time.Date(2025, 6, 10, 12, 0, 0, 0, time.UTC)
	ok := Request{Since: "7d", ClickWindow: 30 * time.Minute, ConversionWindow: 24 * time.Hour, Confidence: 0.95}
	tests := []struct {
		name string
		edit func(*Request)
		err  string
	}{
		{"defaults", func(*Request) {}, ""},
		{"bad since", func(r *Request) { r.Since = "soon" }, `--since: "soon" is ` + ErrBadTime.Error()},
		{"until before since", func(r *Request) { r.Until = "2025-06-01"; r.Since = "2025-06-02" }, "--since (2025-06-02T00:00:00Z) is not before --until (2025-06-01T00:00:00Z)"},
		{"surface", func(r *Request) { r.Surface = "nowhere" }, `--surface "nowhere": want one of `},
		{"window", func(r *Request) { r.ClickWindow = 0 }, "--click-window and --conversion-window must be positive"},
		{"confidence", func(r *Request) { r.Confidence = 1.5 }, "--confidence 1.5: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ok
			tt.edit(&r)
			q, z, err := r.Query(now)
			if tt.err == "" {
				if err != nil || !q.Since.Equal(now.Add(-7*24*time.Hour)) || !q.Until.Equal(now) || z < 1.95 || z > 1.97 {
					t.Errorf("Query = %+v, %v, %v", q, z, err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
				t.Errorf("error %v, want it to start with %q", err, tt.err)
			}
		})
	}
}

func TestRequestResolve(t *testing.T) {
	ab, err := experiment.Parse("ab", "base:50,new:50", "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name             string
		r                Request
		configured       *experiment.Experiment
		wantExp, wantCtl string
	}{
		{"configured", Request{}, ab, "ab", "base"},
		{"none configured", Request{}, nil, "", "control"},
		{"every experiment asked", Request{ExperimentGiven: true}, ab, "", "control"},
		{"another experiment", Request{Experiment: "other", ExperimentGiven: true}, ab, "other", "control"},
		{"control given", Request{Control: "new"}, ab, "ab", "new"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.r
			r.Resolve(tt.configured)
			if r.Experiment != tt.wantExp || r.Control != tt.wantCtl {
				t.Errorf("resolved %q/%q, want %q/%q", r.Experiment, r.Control, tt.wantExp, tt.wantCtl)
			}
		})
	}
}

func TestRequestReport(t *testing.T) {
	r := Request{Experiment: "ab", Control: "control", Surface: "search", ClickWindow: time.Hour, ConversionWindow: 2 * time.Hour, Confidence: 0.9, IncludeAnonymous: true}
	since := time.Date(2025, 6, 1, 0, 0, 0, 0, time.FixedZone("x", 3600))
	q := records.OnlineQuery{Since: since, Until: since.Add(time.Hour)}
	rep := r.Report(nil, q, 1.64)
	if rep.Since.Location() != time.UTC || !rep.Since.Equal(since) || rep.Experiment != "ab" || rep.Surface != "search" ||
		rep.ClickWindow != "1h0m0s" || rep.ConversionWindow != "2h0m0s" || rep.Confidence != 0.9 || !rep.IncludeAnonymous || rep.Control != "control" {
		t.Errorf("report %+v", rep)
	}
}
