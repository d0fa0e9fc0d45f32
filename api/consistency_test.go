package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/api"
	"github.com/vitrinehq/vitrine/indexer"
	"github.com/vitrinehq/vitrine/internal/apitest"
	"github.com/vitrinehq/vitrine/lexical"
	"github.com/vitrinehq/vitrine/lexical/analysis"
	"github.com/vitrinehq/vitrine/models"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/serving"
	"github.com/vitrinehq/vitrine/store"
)

// visibleWithin is how soon a write through one API process must be
// searchable on every other (the search issue's promise).
const visibleWithin = 2 * time.Second

// node is one API process's worth of serving: its own store (connection
// pool), lexical index and Syncer (LISTEN connection), serving core and
// HTTP server, on the shared database.
type node struct {
	ts   *httptest.Server
	stop func()
}

// startNode starts a node on the database at url; stop shuts it down
// (also at the test's end).
func startNode(t *testing.T, a *apitest.Env, url string) *node {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	an, err := analysis.New(analysis.English, analysis.Swedish)
	if err != nil {
		t.Fatal(err)
	}
	sy := lexical.NewSyncer(st, lexical.WithIndexOptions(lexical.WithAnalyzer(an), lexical.WithMatch(lexical.MatchAny)))
	stopSync, err := sy.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := a.Encoders.ByModality(models.Text)
	img, _ := a.Encoders.ByModality(models.Image)
	d := serving.DepsFrom(st, text, nil)
	d.Text = lexical.Text{Syncer: sy, Suggester: st}
	svc, err := serving.New(d)
	if err != nil {
		t.Fatal(err)
	}
	cfg := api.DefaultConfig()
	cfg.RateLimit = 0
	ix := indexer.New(st, a.Media, []indexer.Encoder{text, img})
	srv, err := api.New(cfg, api.Deps{Service: svc, Store: st, Encoders: a.Encoders, Indexer: ix, Media: a.Media})
	if err != nil {
		t.Fatal(err)
	}
	n := &node{ts: httptest.NewServer(srv.Handler())}
	stopped := false
	n.stop = func() {
		if stopped {
			return
		}
		stopped = true
		n.ts.Close()
		_ = srv.Close(context.Background())
		stopSync()
		cancel()
		st.Close()
	}
	t.Cleanup(n.stop)
	return n
}

// call sends a request to a node and decodes a JSON answer into out (when
// not nil), failing the test on a status other than 200 or 204.
func (n *node) call(t *testing.T, method, path, key string, body, out any) {
	t.Helper()
	var rd bytes.Buffer
	if body != nil {
		if err := json.NewEncoder(&rd).Encode(body); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequestWithContext(t.Context(), method, n.ts.URL+path, &rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
		t.Fatalf("%s %s: %d", method, path, resp.StatusCode)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
}

// ids searches a node and returns the result ids.
func (n *node) ids(t *testing.T, key, q string) []string {
	t.Helper()
	var b searchBody
	n.call(t, "GET", "/v1/search?q="+q, key, nil, &b)
	return resultIDs(b)
}

// eventually polls a node's search for q until holds says the ids are
// right, failing once visibleWithin has passed since the write.
func (n *node) eventually(t *testing.T, key, q, what string, since time.Time, holds func([]string) bool) {
	t.Helper()
	for {
		got := n.ids(t, key, q)
		if holds(got) {
			t.Logf("%s: %v after the write", what, time.Since(since).Round(time.Millisecond))
			return
		}
		if time.Since(since) > visibleWithin {
			t.Fatalf("%s: not within %v: %q gives %v", what, visibleWithin, q, got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTwoProcessesConsistent runs two fully separate API nodes on one
// database: a product written, rewritten and deleted through one is
// found, found by its new words only, and gone on the other within 2 s;
// and a node restarted on the database answers a set of queries exactly
// as it did before.
func TestTwoProcessesConsistent(t *testing.T) {
	a := apitest.New(t)
	url := a.DB.Config().ConnString()
	_, write, err := a.Store.CreateAPIKey(t.Context(), "writer", []records.Scope{records.ScopeWrite})
	if err != nil {
		t.Fatal(err)
	}
	one, two := startNode(t, a, url), startNode(t, a, url)
	// Made-up words: the text model knows none, so only the lexical
	// index can find the product.
	const id = "consistency-1"
	product := func(title string) any {
		return map[string]any{"products": []any{map[string]any{"id": id, "title": title, "category": []string{"Bakery"}}}}
	}
	has := func(ids []string) bool { return slices.Contains(ids, id) }
	lacks := func(ids []string) bool { return !has(ids) }

	start := time.Now()
	one.call(t, "POST", "/v1/products", write, product("Zorblax biscuits"), nil)
	two.eventually(t, write, "zorblax", "a new product on the other node", start, has)

	start = time.Now()
	one.call(t, "POST", "/v1/products", write, product("Quixotl biscuits"), nil)
	two.eventually(t, write, "quixotl", "an updated product on the other node", start, has)
	if got := two.ids(t, write, "zorblax"); has(got) {
		t.Errorf("the updated product is still found by its old title: %v", got)
	}

	start = time.Now()
	one.call(t, "DELETE", "/v1/products/"+id, write, nil, nil)
	two.eventually(t, write, "quixotl", "a deleted product on the other node", start, lacks)

	queries := []string{"apple", "organic%20bananas", "ginger%20root", "mj%C3%B6lk", "yoghrt", "red%20pepper", "juice"}
	before := map[string][]string{}
	for _, q := range queries {
		if before[q] = two.ids(t, write, q); len(before[q]) == 0 {
			t.Fatalf("%s finds nothing to compare after a restart", q)
		}
	}
	two.stop()
	restarted := startNode(t, a, url)
	for _, q := range queries {
		if got := restarted.ids(t, write, q); !slices.Equal(got, before[q]) {
			t.Errorf("%s after a restart: %v, before %v", q, got, before[q])
		}
	}
}
