// Package search is the engine of `vitrine bench search`: the in-memory
// lexical index beside Bleve (package bleveengine, the library measured
// as the alternative) and PostgreSQL full text (ts_rank_cd) on the bench's
// synthetic catalog, in the same run, for 1-, 2- and 3-word queries and
// the catalog's most frequent words. It measures latency under concurrent
// clients for the lexical leg alone and for the served hybrid search with
// facets (index and ts_rank_cd, the two engines serve can run), the
// documents each engine matched and scored per query, and what building
// the index and Bleve cost in time, heap and (Bleve) disk. The index and
// the served search are whatever the caller built (`vitrine bench search`
// builds them as `vitrine serve` does); Bleve is built here from the same
// products.
package search

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/vitrinehq/vitrine/bench/apiload"
	"github.com/vitrinehq/vitrine/bench/load"
	"github.com/vitrinehq/vitrine/internal/synth"
	"github.com/vitrinehq/vitrine/lexical"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/serving"
)

// Engine names in reports.
const (
	// Index is the in-memory lexical index (search.engine index).
	Index = "index"
	// Postgres is PostgreSQL full text ranked by ts_rank_cd
	// (search.engine postgres), the baseline.
	Postgres = "ts_rank_cd"
	// Bleve is the Bleve library's index of the same products (package
	// bleveengine), measured in the lexical leg only.
	Bleve = "bleve"
)

// Engines are the engine names --engines takes, in report order.
func Engines() []string { return []string{Index, Bleve, Postgres} }

// ErrEngine is wrapped by ParseEngines for a name it does not know.
var ErrEngine = errors.New("unknown bench search engine")

// ParseEngines reads a comma-separated list of engine names (Engines)
// and returns them in report order, each once.
func ParseEngines(list string) ([]string, error) {
	want := map[string]bool{}
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if !slices.Contains(Engines(), name) {
			return nil, fmt.Errorf("%w %q (want some of %s)", ErrEngine, name, strings.Join(Engines(), ", "))
		}
		want[name] = true
	}
	return slices.DeleteFunc(Engines(), func(e string) bool { return !want[e] }), nil
}

// Legs of the search measured.
const (
	// Lexical is the text engine alone: top 10 and the match total.
	Lexical = "lexical"
	// Hybrid is the served hybrid search with facets.
	Hybrid = "hybrid"
)

// K is how many results every measured query asks for.
const K = 10

// Report is what a run measured.
type Report struct {
	Products int    `json:"products"`
	Clients  int    `json:"clients"`
	Duration string `json:"duration_per_scenario"`
	Warmup   string `json:"warmup_per_scenario"`
	// Engines are the engines measured (all of Engines when empty).
	Engines []string `json:"engines,omitempty"`
	// Populate is what loading the bench database cost (recorded by the
	// run that loaded it when Reused).
	PopulateSeconds float64 `json:"populate_seconds"`
	Reused          bool    `json:"reused"`
	// Build is building the in-memory index from the database's products
	// (the snapshot a restarting server rebuilds).
	Build Build `json:"index_build"`
	// Bleve is building Bleve from the same products (nil when it was
	// not measured).
	Bleve  *Build  `json:"bleve_build,omitempty"`
	Groups []Group `json:"groups"`
	Rows   []Row   `json:"rows"`
}

// Build is what building the index cost: wall time and heap in use after
// a collection, before and after.
type Build struct {
	Seconds    float64 `json:"seconds"`
	HeapBefore uint64  `json:"heap_before_bytes"`
	HeapAfter  uint64  `json:"heap_after_bytes"`
	// Bytes is HeapAfter less HeapBefore: the index's heap.
	Bytes int64 `json:"index_bytes"`
	// DiskBytes is the size of an index kept in files (Bleve's scorch
	// segments, mapped into memory rather than on the heap).
	DiskBytes int64 `json:"disk_bytes,omitempty"`
}

// Has reports whether the run measures engine.
func (rep Report) Has(engine string) bool {
	return len(rep.Engines) == 0 || slices.Contains(rep.Engines, engine)
}

// HybridEngine is a served engine the hybrid leg measures: its
// search.engine setting and its name in reports.
type HybridEngine struct{ Config, Name string }

// HybridEngines are the served engines among those the run measures: the
// index, then ts_rank_cd (Bleve is not one serve can run).
func (rep Report) HybridEngines() []HybridEngine {
	return slices.DeleteFunc([]HybridEngine{{"index", Index}, {"postgres", Postgres}}, func(e HybridEngine) bool { return !rep.Has(e.Name) })
}

// Group is one kind of query, with the documents each engine matched and
// scored per query (means over the group's queries).
type Group struct {
	Name    string   `json:"name"`
	Queries []string `json:"queries"`
	// Matched is the index's match total, Scored the documents its
	// block-max traversal scored.
	Matched float64 `json:"index_matched"`
	Scored  float64 `json:"index_scored"`
	// PostgresMatched is ts_rank_cd's match total; PostgreSQL ranks every
	// match, so it is also what it scored.
	PostgresMatched float64 `json:"postgres_matched"`
	// BleveMatched is Bleve's match total; it too scores every match.
	BleveMatched float64 `json:"bleve_matched"`
}

// Row is one measured scenario: a leg, a group and an engine.
type Row struct {
	Leg    string      `json:"leg"`
	Group  string      `json:"group"`
	Engine string      `json:"engine"`
	Result load.Result `json:"result"`
}

// TextEngine is a lexical engine: serving's Text port (lexical.Text and
// *store.Store are both one).
type TextEngine interface {
	SearchText(ctx context.Context, q records.TextQuery) (records.TextMatches, error)
}

// Searcher is the served hybrid search (*serving.Service).
type Searcher interface {
	Search(ctx context.Context, req serving.SearchRequest) (serving.SearchResult, error)
}

// Counter is the index itself, which reports what it scored
// (*lexical.Index).
type Counter interface {
	Search(q lexical.Query) (lexical.Result, error)
}

// perGroup is how many queries each group holds.
const perGroup = 24

// Groups are the measured queries: the catalog's most frequent words
// (the words in the most products, less those in every product), then
// shopper-like 1-, 2- and 3-word queries (apiload.Queries).
func Groups() []Group {
	gs := []Group{{Name: "frequent word", Queries: FrequentWords(8)}}
	byLen := map[int][]string{}
	for _, q := range apiload.Queries() {
		n := len(strings.Fields(q))
		if len(byLen[n]) < perGroup {
			byLen[n] = append(byLen[n], q)
		}
	}
	for _, n := range slices.Sorted(maps.Keys(byLen)) {
		name := fmt.Sprintf("%d words", n)
		if n == 1 {
			name = "1 word"
		}
		gs = append(gs, Group{Name: name, Queries: byLen[n]})
	}
	return gs
}

// sample is how many synthetic products FrequentWords reads.
const sample = 5000

// FrequentWords are the n words of the synthetic catalog (titles and
// descriptions) held by the most products, leaving out words held by
// every product (boilerplate such as "good", which no shopper searches
// for) and words under three letters.
func FrequentWords(n int) []string {
	df := map[string]int{}
	for i := range sample {
		p := synth.Gen(1, i, synth.Options{})
		seen := map[string]bool{}
		for _, w := range strings.FieldsFunc(strings.ToLower(p.Title+" "+p.Description), func(r rune) bool {
			return r < 'a' || r > 'z'
		}) {
			if len(w) >= 3 && !seen[w] {
				seen[w] = true
				df[w]++
			}
		}
	}
	words := slices.DeleteFunc(slices.Collect(maps.Keys(df)), func(w string) bool { return df[w] == sample })
	slices.SortFunc(words, func(a, b string) int {
		if df[a] != df[b] {
			return df[b] - df[a]
		}
		return strings.Compare(a, b)
	})
	return words[:min(n, len(words))]
}

// MeasureBuild runs build and reports its wall time and the heap it
// added (heap in use after a collection, before and after).
func MeasureBuild(build func() error) (Build, error) {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	b := Build{HeapBefore: m.HeapInuse}
	start := time.Now()
	if err := build(); err != nil {
		return b, err
	}
	b.Seconds = time.Since(start).Seconds()
	runtime.GC()
	runtime.ReadMemStats(&m)
	b.HeapAfter = m.HeapInuse
	b.Bytes = int64(b.HeapAfter) - int64(b.HeapBefore)
	return b, nil
}

// Count fills each group's matched and scored documents per query: the
// index's from its own traversal (when ix is not nil), the match totals
// of the engines that score every match (ts_rank_cd and Bleve, by name in
// engines; others there are left out).
func Count(ctx context.Context, ix Counter, engines map[string]TextEngine, gs []Group) error {
	for g := range gs {
		var matched, scored int
		totals := map[string]int{}
		for _, q := range gs[g].Queries {
			if ix != nil {
				res, err := ix.Search(lexical.Query{Text: q, K: K})
				if err != nil {
					return fmt.Errorf("index %q: %w", q, err)
				}
				matched, scored = matched+res.Total, scored+res.Scored
			}
			for _, name := range []string{Postgres, Bleve} {
				if e, ok := engines[name]; ok {
					res, err := e.SearchText(ctx, records.TextQuery{Text: q, K: K})
					if err != nil {
						return fmt.Errorf("%s %q: %w", name, q, err)
					}
					totals[name] += res.Total
				}
			}
		}
		n := float64(max(len(gs[g].Queries), 1))
		gs[g].Matched, gs[g].Scored = float64(matched)/n, float64(scored)/n
		gs[g].PostgresMatched, gs[g].BleveMatched = float64(totals[Postgres])/n, float64(totals[Bleve])/n
	}
	return nil
}

// Case is one row to measure: call i of the load runs Run(ctx, i).
type Case struct {
	Row Row
	Run func(ctx context.Context, i int) error
}

// LexicalScenarios query each engine's text search alone (top K and the
// match total), every group on every engine, in report order.
func LexicalScenarios(gs []Group, engines map[string]TextEngine) []Case {
	var out []Case
	for _, g := range gs {
		for _, name := range engineOrder(engines) {
			e, qs := engines[name], g.Queries
			out = append(out, Case{Row{Leg: Lexical, Group: g.Name, Engine: name}, func(ctx context.Context, i int) error {
				_, err := e.SearchText(ctx, records.TextQuery{Text: qs[i%len(qs)], K: K})
				return err
			}})
		}
	}
	return out
}

// HybridScenarios query the served hybrid search with facets (as GET
// /v1/search does), every group on the engine named.
func HybridScenarios(gs []Group, engine string, s Searcher) []Case {
	out := make([]Case, 0, len(gs))
	for _, g := range gs {
		qs := g.Queries
		out = append(out, Case{Row{Leg: Hybrid, Group: g.Name, Engine: engine}, func(ctx context.Context, i int) error {
			_, err := s.Search(ctx, serving.SearchRequest{Query: qs[i%len(qs)], K: K})
			return err
		}})
	}
	return out
}

// engineOrder puts the engines of Engines first in that order (index,
// bleve, ts_rank_cd), then any others by name.
func engineOrder(engines map[string]TextEngine) []string {
	names := slices.Sorted(maps.Keys(engines))
	rank := func(n string) int {
		if i := slices.Index(Engines(), n); i >= 0 {
			return i
		}
		return len(Engines())
	}
	slices.SortStableFunc(names, func(a, b string) int { return rank(a) - rank(b) })
	return names
}

// Run measures the scenarios one after another with r and appends their
// rows to rep.
func Run(ctx context.Context, r apiload.Runner, rep *Report, ss []Case) {
	named := make([]apiload.Scenario, len(ss))
	for i, s := range ss {
		named[i] = apiload.Scenario{Name: fmt.Sprintf("%s %s (%s)", s.Row.Leg, s.Row.Group, s.Row.Engine), Run: s.Run}
	}
	for i, res := range r.Run(ctx, named...) {
		row := ss[i].Row
		row.Result = res
		rep.Rows = append(rep.Rows, row)
	}
}
