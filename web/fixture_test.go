package web_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitrinehq/vitrine/api"
	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/fusion"
	"github.com/vitrinehq/vitrine/indexer"
	"github.com/vitrinehq/vitrine/ingest"
	"github.com/vitrinehq/vitrine/internal/testdb"
	"github.com/vitrinehq/vitrine/internal/testenv"
	"github.com/vitrinehq/vitrine/store"
)

// env is the demo grocery catalog in a fresh database, encoded by the real
// models, ready for API servers of any configuration (as api_test's
// newFixture builds it).
type env struct {
	st    *store.Store
	set   *extractors.Set
	ix    *indexer.Indexer
	media *ingest.MediaLoader
	root  string // module root
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := t.Context()
	st, err := store.Open(ctx, testdb.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	var ms []string
	for _, n := range []string{"glove-100d", "mobilenetv2-int8"} {
		ms = append(ms, testenv.Manifest(t, n).Name)
	}
	set, err := extractors.LoadSet(ctx, testenv.Runtime(t), testenv.Manifests(t), testenv.ModelDir(t), ms, extractors.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { set.Close() })
	text, _ := set.ByModality("text")
	img, _ := set.ByModality("image")
	spec := fusion.Spec{Strategy: fusion.WeightedConcat, Components: []fusion.Component{
		{Model: text.Key(), Modality: "text", Dim: text.Dim(), Weight: 0.5},
		{Model: img.Key(), Modality: "image", Dim: img.Dim(), Weight: 0.5},
	}}
	sp, err := st.CreateSpace(ctx, store.NewSpace{Spec: spec.JSON(), Dim: spec.Dim()})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.ActivateSpace(ctx, sp.Version); err != nil {
		t.Fatal(err)
	}
	media := ingest.NewMediaLoader()
	ix := indexer.New(st, media, []indexer.Encoder{text, img})
	root := testenv.Root(t)
	f, err := os.Open(filepath.Join(root, "demo", "grocery", "catalog.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd, err := ingest.NewReader(f, ingest.JSONL, filepath.Join(root, "demo", "grocery"))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := ingest.Run(ctx, rd, ingest.Options{Space: sp, Writer: st, Indexer: ix})
	if err != nil || sum.Indexed != 81 {
		t.Fatalf("ingest demo catalog: %+v %v", sum, err)
	}
	for _, e := range []extractors.Encoder{text, img} {
		if err := st.EnsureModelIndex(ctx, e.Key(), e.Dim()); err != nil {
			t.Fatal(err)
		}
	}
	return &env{st: st, set: set, ix: ix, media: media, root: root}
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
