package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vitrinehq/vitrine/api"
	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/indexer"
	"github.com/vitrinehq/vitrine/ingest"
	"github.com/vitrinehq/vitrine/internal/apitest"
	"github.com/vitrinehq/vitrine/store"
)

// env is the demo grocery catalog served by the real models (see apitest).
type env struct {
	st    *store.Store
	set   *extractors.Set
	ix    *indexer.Indexer
	media *ingest.MediaLoader
	root  string // module root
}

func newEnv(t *testing.T) *env {
	t.Helper()
	a := apitest.New(t)
	return &env{st: a.Store, set: a.Encoders, ix: a.Indexer, media: a.Media, root: a.Root}
}

// serve starts the API (with the pages) on a loopback port; edit adjusts
// the default test configuration.
func (e *env) serve(t *testing.T, edit func(*api.Config)) *httptest.Server {
	t.Helper()
	cfg := api.DefaultConfig()
	cfg.Auth = api.AuthOff
	cfg.RateLimit = 0
	cfg.MediaRoot = e.root
	if edit != nil {
		edit(&cfg)
	}
	srv, err := api.New(cfg, api.Deps{Store: e.st, Encoders: e.set, Indexer: e.ix, Media: e.media})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(context.Background()) }) // stops the impression writer
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

// get fetches without following redirects, so a redirect is seen as one.
func get(t *testing.T, url, key string) reply {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

func (r reply) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("%d %s: %v", r.status, r.body, err)
	}
}

func (r reply) problemJSON() bool {
	return strings.HasPrefix(r.header.Get("Content-Type"), "application/problem+json")
}
