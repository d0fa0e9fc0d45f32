package apiload

import (
	"strings"
	"testing"

	"github.com/vitrinehq/vitrine/bench/load"
)

// The report says how recommendations and similar products retrieved
// only when it holds their rows, and what the after-event rows time
// only when it holds those, in text and in Markdown.
func TestReportNotes(t *testing.T) {
	rows := func(names ...string) []load.Result {
		var out []load.Result
		for _, n := range names {
			out = append(out, load.Result{Name: n + " (API)"}, load.Result{Name: n + " (bare DB)"})
		}
		return out
	}
	cases := []struct {
		name            string
		rep             Report
		retrieval, more bool
	}{
		{"search only", Report{RetrievalTTL: "30s", Results: rows("search")}, false, false},
		{"recommend, reused", Report{RetrievalTTL: "30s", Results: rows("recommend", "similar")}, true, false},
		{"after event only", Report{RetrievalTTL: "30s", Results: rows(AfterEvent)}, false, true},
		{"all", Report{RetrievalTTL: "0s", Results: rows("recommend", "similar", AfterEvent)}, true, true},
	}
	for _, c := range cases {
		var txt, md strings.Builder
		if err := Text(&txt, c.rep); err != nil {
			t.Fatal(err)
		}
		if err := Markdown(&md, c.rep); err != nil {
			t.Fatal(err)
		}
		for _, out := range []string{txt.String(), md.String()} {
			if got := strings.Contains(out, "recommend.cache_ttl"); got != c.retrieval {
				t.Errorf("%s: retrieval note %v, want %v:\n%s", c.name, got, c.retrieval, out)
			}
			if got := strings.Contains(out, "only that request is timed"); got != c.more {
				t.Errorf("%s: after-event note %v, want %v:\n%s", c.name, got, c.more, out)
			}
		}
	}
}
