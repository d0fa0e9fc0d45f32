package search_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/bench/load"
	"github.com/vitrinehq/vitrine/bench/search"
)

func TestParseEngines(t *testing.T) {
	tests := []struct {
		list string
		want []string
		err  error
	}{
		{"index,bleve,ts_rank_cd", []string{"index", "bleve", "ts_rank_cd"}, nil},
		{"ts_rank_cd, index", []string{"index", "ts_rank_cd"}, nil},
		{"bleve,bleve", []string{"bleve"}, nil},
		{"index,lucene", nil, search.ErrEngine},
		{"", nil, search.ErrEngine},
	}
	for _, tc := range tests {
		got, err := search.ParseEngines(tc.list)
		if !errors.Is(err, tc.err) || !slices.Equal(got, tc.want) {
			t.Errorf("%q: %v, %v; want %v, %v", tc.list, got, err, tc.want, tc.err)
		}
	}
}

func TestHybridEnginesAreTheServedOnesSelected(t *testing.T) {
	tests := []struct {
		engines []string
		want    []search.HybridEngine
	}{
		{nil, []search.HybridEngine{{Config: "index", Name: "index"}, {Config: "postgres", Name: "ts_rank_cd"}}},
		{[]string{"bleve", "ts_rank_cd"}, []search.HybridEngine{{Config: "postgres", Name: "ts_rank_cd"}}},
		{[]string{"index", "bleve"}, []search.HybridEngine{{Config: "index", Name: "index"}}},
	}
	for _, tc := range tests {
		if got := (search.Report{Engines: tc.engines}).HybridEngines(); !slices.Equal(got, tc.want) {
			t.Errorf("%v: %v, want %v", tc.engines, got, tc.want)
		}
	}
}

// report is a run of the lexical leg on the three engines for one group.
func report(engines ...string) search.Report {
	rep := search.Report{Products: 1000, Clients: 8, Duration: "5s", Warmup: "1s", Engines: engines,
		Build: search.Build{Seconds: 1.5, Bytes: 8 << 20},
		Bleve: &search.Build{Seconds: 4.25, Bytes: 3 << 20, DiskBytes: 12 << 20},
		Groups: []search.Group{{Name: "1 word", Queries: []string{"apple"}, Matched: 300, Scored: 40,
			PostgresMatched: 301, BleveMatched: 299}}}
	p50 := map[string]time.Duration{search.Index: time.Millisecond, search.Bleve: 5 * time.Millisecond, search.Postgres: 20 * time.Millisecond}
	for _, e := range engines {
		if e == "stalled" { // ts_rank_cd finished no request in its time
			rep.Rows[len(rep.Rows)-1].Result = load.Result{}
			continue
		}
		rep.Rows = append(rep.Rows, search.Row{Leg: search.Lexical, Group: "1 word", Engine: e,
			Result: load.Result{Requests: 10, P50: p50[e], P95: p50[e], P99: p50[e]}})
	}
	return rep
}

func TestMarkdownReportsBleveBesideTheOthers(t *testing.T) {
	tests := []struct {
		name    string
		engines []string
		want    []string
		not     []string
	}{
		{"all three", []string{"index", "bleve", "ts_rank_cd"}, []string{
			"index built from the database in 1.50 s, heap 8.0 MiB",
			"Bleve (scorch in a temporary directory) built from the database in 4.25 s, heap 3.0 MiB",
			"plus 12.0 MiB of segment files",
			"| lexical | 1 word | index | 0.0 | 1.00 | 1.00 | 1.00 | 0 | 300 | 40 | 20.0× |",
			"| lexical | 1 word | bleve | 0.0 | 5.00 | 5.00 | 5.00 | 0 | 299 | 299 | 4.0× |",
			"| lexical | 1 word | ts_rank_cd | 0.0 | 20.00 | 20.00 | 20.00 | 0 | 301 | 301 | baseline |",
		}, nil},
		{"no baseline", []string{"index", "bleve"}, []string{
			"| lexical | 1 word | bleve | 0.0 | 5.00 | 5.00 | 5.00 | 0 | 299 | 299 | — |",
		}, []string{"baseline |"}},
		{"no index", []string{"bleve", "ts_rank_cd"}, []string{"| lexical | 1 word | bleve |"}, []string{"index built"}},
		{"baseline answered nothing", []string{"index", "ts_rank_cd", "stalled"}, []string{
			"| lexical | 1 word | index | 0.0 | 1.00 | 1.00 | 1.00 | 0 | 300 | 40 | — |",
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			if err := search.Markdown(&b, report(tc.engines...)); err != nil {
				t.Fatal(err)
			}
			for _, s := range tc.want {
				if !strings.Contains(b.String(), s) {
					t.Errorf("lacks %q:\n%s", s, b.String())
				}
			}
			for _, s := range tc.not {
				if strings.Contains(b.String(), s) {
					t.Errorf("holds %q:\n%s", s, b.String())
				}
			}
		})
	}
}
