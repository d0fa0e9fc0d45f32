// Package apiload is the engine of `vitrine bench api`: it loads a bench
// database with synthetic products, makes shoppers through the API's own
// event endpoint, and runs each endpoint (rank, search, suggest,
// recommendations) under concurrent HTTP clients beside the bare database
// queries behind it, with the same concurrency in the same run. The
// difference is the cost of HTTP, JSON, the text model and ranking. The
// server under load is whatever the caller started: `vitrine bench api`
// starts the API exactly as `vitrine serve` configures it.
package apiload

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vitrinehq/vitrine/bench"
	"github.com/vitrinehq/vitrine/bench/load"
	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/fusion"
	"github.com/vitrinehq/vitrine/ingest"
	"github.com/vitrinehq/vitrine/internal/synth"
	"github.com/vitrinehq/vitrine/records"
)

// ErrHTTPStatus is a request answered with a status other than 200.
var ErrHTTPStatus = errors.New("unexpected HTTP status")

// Report is what a run measured.
type Report struct {
	Products      int     `json:"products"`
	Clients       int     `json:"clients"`
	Duration      string  `json:"duration_per_scenario"`
	Warmup        string  `json:"warmup_per_scenario"`
	IngestSeconds float64 `json:"ingest_seconds"`
	IngestRate    float64 `json:"ingest_products_per_second"`
	IndexSeconds  float64 `json:"index_build_seconds"`
	// Reused: the database was loaded by an earlier run, whose ingest and
	// index figures these are.
	Reused        bool    `json:"reused"`
	DatabaseBytes int64   `json:"database_bytes"`
	TrainSeconds  float64 `json:"cf_train_seconds"`
	// RetrievalTTL is the served recommend.cache_ttl: how long the
	// recommend and similar scenarios reuse a retrieval ("0s": every
	// retrieval afresh; the bench replays few shoppers, so with a TTL
	// nearly every measured request reuses one).
	RetrievalTTL string        `json:"recommend_cache_ttl,omitempty"`
	Results      []load.Result `json:"results"`
}

// Loader is the database Populate loads.
type Loader interface {
	bench.Commenter
	ingest.ProductWriter
	CountProducts(ctx context.Context) (int64, error)
	ActiveSpace(ctx context.Context) (records.Space, error)
	CreateSpace(ctx context.Context, ns records.NewSpace) (records.Space, error)
	BuildSpaceIndex(ctx context.Context, version int) error
	EnsureModelIndex(ctx context.Context, model string, dim int) error
	ActivateSpace(ctx context.Context, version int) error
	Analyze(ctx context.Context) error
	DatabaseSize(ctx context.Context) (int64, error)
}

// Populate ingests n synthetic products into a fresh space over spec
// (one text component) and builds its index after loading, faster than
// growing it row by row. A database that already holds n products and an
// active space is kept, with the figures its loading run recorded.
// progress, when set, gets the rows ingested so far.
func Populate(ctx context.Context, st Loader, ix ingest.Indexer, spec fusion.Spec, n int, progress func(int), rep *Report) error {
	if have, err := st.CountProducts(ctx); err == nil && have == int64(n) {
		if _, err := st.ActiveSpace(ctx); err == nil {
			if b, ok := bench.RecalledBuild(ctx, st); ok {
				rep.Reused, rep.IngestSeconds, rep.IndexSeconds = true, b.LoadSeconds, b.IndexSeconds
				rep.IngestRate = float64(n) / max(b.LoadSeconds, 1e-9)
			}
			size, err := st.DatabaseSize(ctx)
			rep.DatabaseBytes = size
			return err
		}
	}
	if err := fill(ctx, st, ix, spec, n, progress, rep); err != nil {
		return err
	}
	size, err := st.DatabaseSize(ctx)
	rep.DatabaseBytes = size
	return err
}

// fill loads a fresh database: products, then the space's and the text
// model's indexes, statistics for the planner, and the build record.
func fill(ctx context.Context, st Loader, ix ingest.Indexer, spec fusion.Spec, n int, progress func(int), rep *Report) error {
	sp, err := st.CreateSpace(ctx, records.NewSpace{Name: "bench", Spec: spec.JSON(), Dim: spec.Dim(), DeferIndex: true})
	if err != nil {
		return err
	}
	start := time.Now()
	if err := ingestSynthetic(ctx, st, ix, sp, n, progress); err != nil {
		return err
	}
	rep.IngestSeconds = time.Since(start).Seconds()
	rep.IngestRate = float64(n) / rep.IngestSeconds
	start = time.Now()
	if err := st.BuildSpaceIndex(ctx, sp.Version); err != nil {
		return err
	}
	for _, c := range spec.Components {
		if err := st.EnsureModelIndex(ctx, c.Model, c.Dim); err != nil {
			return err
		}
	}
	rep.IndexSeconds = time.Since(start).Seconds()
	if err := st.ActivateSpace(ctx, sp.Version); err != nil {
		return err
	}
	if err := st.Analyze(ctx); err != nil {
		return err
	}
	return bench.RecordBuild(ctx, st, bench.Build{LoadSeconds: rep.IngestSeconds, IndexSeconds: rep.IndexSeconds})
}

// ingestSynthetic runs ingest.Run over n synthetic products.
func ingestSynthetic(ctx context.Context, st ingest.ProductWriter, ix ingest.Indexer, sp records.Space, n int, progress func(int)) error {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(synth.WriteJSONL(pw, synth.Options{N: n, Seed: 1})) }()
	rd, err := ingest.NewReader(pr, ingest.JSONL, "")
	if err != nil {
		return err
	}
	sum, err := ingest.Run(ctx, rd, ingest.Options{Space: sp, Writer: st, Indexer: ix, BatchSize: 500, Progress: progress})
	if err != nil {
		return err
	}
	if sum.Rejected > 0 {
		return fmt.Errorf("%d synthetic products rejected", sum.Rejected)
	}
	return nil
}

// Client sends the load's requests to one server.
type Client struct {
	HTTP *http.Client
	Base string // e.g. http://127.0.0.1:8080
}

// Do sends one request and drains the answer; a status other than 200 is
// an error wrapping ErrHTTPStatus.
func (c Client) Do(ctx context.Context, method, path string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %w %d", method, path, ErrHTTPStatus, resp.StatusCode)
	}
	return nil
}

// Shoppers posts purchases for users through the API's event endpoint
// (so their vectors update online): each user buys per products from one
// block of the catalog, so collaborative filtering has structure.
func Shoppers(ctx context.Context, c Client, products, users, per int) ([]string, error) {
	var ids []string
	var batch []map[string]any
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		body, _ := json.Marshal(map[string]any{"events": batch})
		batch = batch[:0]
		return c.Do(ctx, http.MethodPost, "/v1/events", body)
	}
	at := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	for u := range users {
		id := fmt.Sprintf("shopper-%04d", u)
		ids = append(ids, id)
		for j := range per {
			batch = append(batch, map[string]any{"client_event_id": fmt.Sprintf("bench-%d-%d", u, j), "user_id": id,
				"product_id": ShopperProduct(products, u, j), "type": "purchase", "timestamp": at})
			if len(batch) == 1000 {
				if err := flush(); err != nil {
					return nil, err
				}
			}
		}
	}
	return ids, flush()
}

// ShopperProduct is the id of the j-th product shopper u buys in a
// catalog of products items: one block of a hundredth of the catalog per
// shopper modulo 100, so collaborative filtering has structure.
func ShopperProduct(products, u, j int) string {
	block := max(1, products/100)
	return fmt.Sprintf("syn-%07d", ((u%100)*block+(u*7+j*13)%block)%products)
}

// Queries are 200 shopper-like queries over the synthetic vocabulary: one
// word, two words, or a whole title.
func Queries() []string {
	var qs []string
	for i := range 200 {
		p := synth.Gen(99, i, synth.Options{})
		words := strings.Fields(strings.ToLower(p.Title))
		switch i % 3 {
		case 0:
			qs = append(qs, words[1])
		case 1:
			qs = append(qs, words[0]+" "+words[1])
		default:
			qs = append(qs, strings.Join(words, " "))
		}
	}
	return qs
}

// Prefixes are what a shopper has typed of each query: 2 to 5 characters.
func Prefixes(qs []string) []string {
	out := make([]string, len(qs))
	for i, q := range qs {
		out[i] = q[:min(len(q), 2+i%4)]
	}
	return out
}

// Scenario is one measured path: call i of the load runs Run(ctx, i).
type Scenario struct {
	Name string
	Run  func(ctx context.Context, i int) error
	// Before, when set, runs before each call, unmeasured, in the same
	// client (a shopper's event and think time before the request).
	Before func(ctx context.Context, i int) error
	// Setup, when set, runs once before the warmup, unmeasured (shoppers
	// who have asked for recommendations before).
	Setup func(ctx context.Context) error
}

// Runner runs scenarios one after another with Clients concurrent callers
// for Duration each, after Warmup unmeasured (so neither side of a pair
// pays for cold caches).
type Runner struct {
	Clients          int
	Duration, Warmup time.Duration
	// Log, when set, gets one line per scenario.
	Log io.Writer
	// Only, when set, names the endpoints to run ("rank", "search",
	// "suggest", "recommend", "similar"): a scenario runs when its name's first word
	// is listed. Empty runs every scenario.
	Only []string
}

// Wants says whether the endpoint (a scenario name's first word) runs.
func (r Runner) Wants(endpoint string) bool {
	return len(r.Only) == 0 || slices.Contains(r.Only, endpoint)
}

// CheckEndpoints refuses names that are not endpoints bench api loads.
func CheckEndpoints(names []string) error {
	for _, n := range names {
		if !slices.Contains(Endpoints(), n) {
			return fmt.Errorf("%w: unknown endpoint %q (want one of %s)", ErrBadEndpoint, n, strings.Join(Endpoints(), ", "))
		}
	}
	return nil
}

// Endpoints are the endpoints bench api loads, by scenario name.
func Endpoints() []string {
	return append([]string{"rank", "search", "suggest"}, RecommendEndpoints()...)
}

// RecommendEndpoints are the scenarios RecommendPair makes, which need
// shoppers and a trained model.
func RecommendEndpoints() []string { return []string{"recommend", "similar", AfterEvent} }

// WantsAny says whether any of the endpoints runs.
func (r Runner) WantsAny(endpoints ...string) bool {
	return slices.ContainsFunc(endpoints, r.Wants)
}

// ErrBadEndpoint is returned for an endpoint name bench api does not know.
var ErrBadEndpoint = errors.New("apiload: bad endpoint")

// Run measures each scenario in turn.
func (r Runner) Run(ctx context.Context, ss ...Scenario) []load.Result {
	var out []load.Result
	for _, s := range ss {
		if ep, _, _ := strings.Cut(s.Name, " "); !r.Wants(ep) {
			continue
		}
		if s.Setup != nil {
			if err := s.Setup(ctx); err != nil {
				out = append(out, load.Result{Name: s.Name, Clients: r.Clients, Errors: 1, FirstErr: err.Error()})
				continue
			}
		}
		if r.Warmup > 0 {
			_ = runScenario(ctx, s, r.Clients, r.Warmup)
		}
		res := runScenario(ctx, s, r.Clients, r.Duration)
		if r.Log != nil {
			fmt.Fprintf(r.Log, "  %-22s %8.1f req/s  p50 %sms  p99 %sms  errors %d\n", s.Name, res.QPS, load.Ms(res.P50), load.Ms(res.P99), res.Errors)
		}
		out = append(out, res)
	}
	return out
}

// Bare is the database the bare baselines query directly.
type Bare interface {
	Nearest(ctx context.Context, q records.NearestQuery) ([]records.Neighbor, error)
	LexicalSearch(ctx context.Context, q string, f catalog.Filter, k int) ([]records.Scored, error)
	Suggest(ctx context.Context, prefix string, k int, boostCategories []string) ([]records.Suggestion, error)
	UserFactors(ctx context.Context, version int, userID string) ([]float32, error)
	TopItemsByFactors(ctx context.Context, m records.CFModel, user []float32, k int, exclude []string) ([]records.Scored, error)
	GetUserVector(ctx context.Context, userID string, space int) (records.UserVector, error)
	ProductVectors(ctx context.Context, space int, ids []string) (map[string][]float32, error)
	ItemFactors(ctx context.Context, version int, ids []string) (map[string][]float32, error)
}

// runScenario runs s under load for d. With Before, each call runs it
// first and only the request is timed: the result's latencies,
// percentiles and QPS are the requests' (load.Run times whole calls).
func runScenario(ctx context.Context, s Scenario, clients int, d time.Duration) load.Result {
	if s.Before == nil {
		return load.Run(ctx, s.Name, clients, d, 0, s.Run)
	}
	var mu sync.Mutex
	var lat []time.Duration
	res := load.Run(ctx, s.Name, clients, d, 0, func(ctx context.Context, i int) error {
		if err := s.Before(ctx, i); err != nil {
			return err
		}
		t0 := time.Now()
		if err := s.Run(ctx, i); err != nil {
			return err
		}
		took := time.Since(t0)
		if ctx.Err() == nil {
			mu.Lock()
			lat = append(lat, took)
			mu.Unlock()
		}
		return nil
	})
	slices.Sort(lat)
	res.Latencies, res.Requests = lat, len(lat)
	res.P50, res.P95, res.P99 = load.Percentile(lat, 50), load.Percentile(lat, 95), load.Percentile(lat, 99)
	if res.Duration > 0 {
		res.QPS = float64(len(lat)) / res.Duration.Seconds()
	}
	return res
}
