package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/api"
	"github.com/vitrinehq/vitrine/bench/hostile"
	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/internal/apitest"
	"github.com/vitrinehq/vitrine/records"
)

type problemBody struct {
	Status int
	Title  string
	Detail string
	Errors []struct{ Field, Reason string }
}

// names reports whether the problem names the field (in errors or detail).
func (p problemBody) names(field string) bool {
	for _, e := range p.Errors {
		if e.Field == field {
			return true
		}
	}
	return strings.Contains(p.Detail, field)
}

// leaks reports internals a 4xx body must not carry: driver text, Go type
// names, server paths.
func leaks(body string) string {
	for _, s := range []string{"SQLSTATE", "pgx", "ERROR:", "[]float32", "catalog.", "records.", "interface {}", "*errors.", "/work/", "/home/", "/tmp/"} {
		if strings.Contains(body, s) {
			return s
		}
	}
	return ""
}

const milk = "grocery-41-arla-standard-milk"

// hostileEvent is one event as a JSON object with the fields given raw.
func hostileEvent(id, user, typ, extra string, at string) string {
	return fmt.Sprintf(`{"client_event_id":%q,"user_id":%s,"product_id":%q,"type":%q,"timestamp":%q%s}`, id, user, milk, typ, at, extra)
}

// TestHostileInput sends what a hostile client would to every endpoint:
// each case must be a 4xx problem+json naming the field (never a 5xx, never
// internals), and a batch with one bad item must keep the good ones.
func TestHostileInput(t *testing.T) {
	fx := newFixture(t)
	now := time.Now().UTC().Format(time.RFC3339)
	jsonCT := "application/json"
	tests := []struct {
		name, method, path, key, ctype, body string
		want                                 int
		field                                string
	}{
		// NUL bytes and invalid UTF-8 in every string.
		{"search q NUL", "GET", "/v1/search?q=milk%00", fx.read, "", "", 422, "q"},
		{"search q invalid UTF-8", "GET", "/v1/search?q=milk%ff", fx.read, "", "", 422, "q"},
		{"search brand NUL", "GET", "/v1/search?q=milk&brand=a%00", fx.read, "", "", 422, "brand"},
		{"search category NUL", "GET", "/v1/search?q=milk&category=Dairy%00", fx.read, "", "", 422, "category"},
		{"search attr NUL", "GET", "/v1/search?q=milk&attr.color=r%00", fx.read, "", "", 422, "attr.color"},
		{"search user NUL", "GET", "/v1/search?q=milk&user_id=evil%00", fx.read, "", "", 422, "user_id"},
		{"similar user NUL", "GET", "/v1/products/" + milk + "/similar?user_id=evil%00", fx.read, "", "", 422, "user_id"},
		{"similar id NUL", "GET", "/v1/products/milk%00/similar", fx.read, "", "", 422, "id"},
		{"product id invalid UTF-8", "GET", "/v1/products/%ff%fe", fx.read, "", "", 422, "id"},
		{"suggest q NUL", "GET", "/v1/suggest?q=mi%00", fx.read, "", "", 422, "q"},
		{"suggest user NUL", "GET", "/v1/suggest?q=mi&user_id=%00", fx.read, "", "", 422, "user_id"},
		{"recommendations user NUL", "GET", "/v1/users/evil%00/recommendations", fx.read, "", "", 422, "id"},
		{"delete user NUL", "DELETE", "/v1/users/evil%00", fx.write, "", "", 422, "id"},
		{"rank query NUL", "POST", "/v1/rank", fx.read, jsonCT, `{"query":"milk\u0000"}`, 422, "query"},
		{"rank user NUL", "POST", "/v1/rank", fx.read, jsonCT, `{"user_id":"u\u0000"}`, 422, "user_id"},
		{"rank candidate NUL", "POST", "/v1/rank", fx.read, jsonCT, `{"query":"milk","candidate_ids":["a\u0000"]}`, 422, "candidate_ids[0]"},
		{"rank filter brand NUL", "POST", "/v1/rank", fx.read, jsonCT, `{"query":"milk","filter":{"brands":["\u0000"]}}`, 422, "filter.brands"},
		{"event user NUL", "POST", "/v1/events", fx.write, jsonCT, `{"events":[` + hostileEvent("n1", `"evil\u0000"`, "view", "", now) + `]}`, 422, "events[0].user_id"},
		{"product title NUL", "POST", "/v1/products", fx.write, jsonCT, `{"products":[{"id":"h1","title":"T\u0000"}]}`, 422, "products[0]"},
		// Numbers: NaN/Inf, huge, negative.
		{"min_price NaN", "GET", "/v1/search?q=milk&min_price=NaN", fx.read, "", "", 422, "min_price"},
		{"max_price Inf", "GET", "/v1/search?q=milk&max_price=Inf", fx.read, "", "", 422, "max_price"},
		{"weight Inf", "GET", "/v1/search?q=milk&vector_weight=%2BInf", fx.read, "", "", 422, "vector_weight"},
		{"weight huge", "GET", "/v1/search?q=milk&lexical_weight=1e308", fx.read, "", "", 422, "lexical_weight"},
		{"weight negative", "GET", "/v1/search?q=milk&lexical_weight=-1", fx.read, "", "", 422, "lexical_weight"},
		{"mmr NaN", "GET", "/v1/users/u/recommendations?mmr_lambda=NaN", fx.read, "", "", 422, "mmr_lambda"},
		{"k negative", "GET", "/v1/search?q=milk&k=-1", fx.read, "", "", 422, "k"},
		{"k huge", "GET", "/v1/products/" + milk + "/similar?k=99999999999999999999", fx.read, "", "", 422, "k"},
		{"rank vector beyond float32", "POST", "/v1/rank", fx.read, jsonCT, `{"user_vector":[1e308]}`, 400, "user_vector"},
		{"rank vector huge", "POST", "/v1/rank", fx.read, jsonCT, `{"user_vector":[1e30]}`, 422, "user_vector[0]"},
		{"rank filter price huge", "POST", "/v1/rank", fx.read, jsonCT, `{"query":"milk","filter":{"min_price":1e300}}`, 422, "filter.min_price"},
		{"rating 1e308", "POST", "/v1/events", fx.write, jsonCT, `{"events":[` + hostileEvent("r1", `"u-r"`, "rating", `,"value":1e308`, now) + `]}`, 422, "events[0].value"},
		{"rating negative", "POST", "/v1/events", fx.write, jsonCT, `{"events":[` + hostileEvent("r2", `"u-r"`, "rating", `,"value":-5`, now) + `]}`, 422, "events[0].value"},
		{"product price huge", "POST", "/v1/products", fx.write, jsonCT, `{"products":[{"id":"h2","title":"T","price":1e308}]}`, 422, "products[0]"},
		// Dates.
		{"event 1900", "POST", "/v1/events", fx.write, jsonCT, `{"events":[` + hostileEvent("d1", `"u-d"`, "view", "", "1900-01-01T00:00:00Z") + `]}`, 422, "events[0].timestamp"},
		{"event year 1", "POST", "/v1/events", fx.write, jsonCT, `{"events":[` + hostileEvent("d2", `"u-d"`, "view", "", "0001-01-01T00:00:01Z") + `]}`, 422, "events[0].timestamp"},
		{"event far future", "POST", "/v1/events", fx.write, jsonCT, `{"events":[` + hostileEvent("d3", `"u-d"`, "view", "", "9999-01-01T00:00:00Z") + `]}`, 422, "events[0].timestamp"},
		{"event timestamp garbage", "POST", "/v1/events", fx.write, jsonCT, `{"events":[` + hostileEvent("d4", `"u-d"`, "view", "", "yesterday") + `]}`, 400, ""},
		// Unknown parameters.
		{"unknown param colour", "GET", "/v1/search?q=milk&colour=red", fx.read, "", "", 400, "query"},
		{"misspelt brands", "GET", "/v1/search?q=milk&brands=arla", fx.read, "", "", 400, "query"},
		{"similar unknown param", "GET", "/v1/products/" + milk + "/similar?q=x", fx.read, "", "", 400, "query"},
		{"product unknown param", "GET", "/v1/products/" + milk + "?debug=1", fx.read, "", "", 400, "query"},
		// Nesting and lengths.
		{"deep attributes", "POST", "/v1/products", fx.write, jsonCT, `{"products":[{"id":"h3","title":"T","attributes":{"a":{"b":{"c":{"d":{"e":1}}}}}}]}`, 422, "products[0]"},
		{"long category", "GET", "/v1/search?q=milk&category=" + strings.Repeat("c", 300), fx.read, "", "", 422, "category"},
		{"deep category", "GET", "/v1/search?q=milk&category=" + url.QueryEscape(strings.Repeat("a>", 20)+"a"), fx.read, "", "", 422, "category"},
		// Go types never named.
		{"wrong type", "POST", "/v1/rank", fx.read, jsonCT, `{"user_vector":"x"}`, 400, "user_vector"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := fx.do(tc.method, tc.path, tc.key, tc.ctype, []byte(tc.body))
			if r.status != tc.want {
				t.Fatalf("%d, want %d: %s", r.status, tc.want, r.body)
			}
			var p problemBody
			r.json(t, &p)
			if tc.field != "" && !p.names(tc.field) {
				t.Errorf("problem does not name %q: %s", tc.field, r.body)
			}
			if l := leaks(string(r.body)); l != "" {
				t.Errorf("problem leaks %q: %s", l, r.body)
			}
		})
	}
}

// A batch with hostile events stores its valid events and rejects the
// others by index; nothing else in the batch is lost.
func TestHostileEventBatchKeepsGoodEvents(t *testing.T) {
	fx := newFixture(t)
	now := time.Now().UTC().Format(time.RFC3339)
	body := `{"events":[` + strings.Join([]string{
		hostileEvent("ok1", `"batch-user"`, "view", "", now),
		hostileEvent("bad1", `"batch-user"`, "rating", `,"value":1e308`, now),
		hostileEvent("bad2", `"batch-user"`, "view", "", "1900-01-01T00:00:00Z"),
		hostileEvent("bad3", `"evil\u0000"`, "view", "", now),
		hostileEvent("ok2", `"batch-user"`, "rating", `,"value":4`, now),
	}, ",") + `]}`
	r := fx.do("POST", "/v1/events", fx.write, "application/json", []byte(body))
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	var res struct {
		Results []struct{ ClientEventID, Status, Error string }
	}
	r.json(t, &res)
	want := []string{"accepted", "rejected", "rejected", "rejected", "accepted"}
	for i, w := range want {
		if res.Results[i].Status != w {
			t.Errorf("event %d: %+v, want %s", i, res.Results[i], w)
		}
	}
	if n := fx.count(`SELECT count(*) FROM events WHERE client_event_id IN ('ok1','ok2')`); n != 2 {
		t.Errorf("%d valid events stored, want 2", n)
	}
	if n := fx.count(`SELECT count(*) FROM events WHERE value IS NOT NULL AND (value > 5 OR value < 1 OR value = 'Infinity'::float8)`); n != 0 {
		t.Errorf("%d out-of-range ratings stored", n)
	}
	var weight float64
	if err := fx.db.QueryRow(t.Context(), `SELECT weight FROM user_vectors WHERE user_id = 'batch-user'`).Scan(&weight); err != nil || weight > 100 {
		t.Errorf("user vector weight %g (%v), want a small finite weight", weight, err)
	}
}

// One impression the database refuses (a NUL in its user id, planted past
// the boundary checks) is dropped alone: every other user's impressions of
// the same batch are written.
func TestImpressionWriterIsolatesRefusedRows(t *testing.T) {
	fx := newFixture(t)
	var served []string
	for i := range 6 {
		user := fmt.Sprintf("shopper-%d", i)
		if i == 3 {
			fx.api.QueueImpression(records.Impression{ID: "0190a5c4-7b2e-7c3d-8e4f-0123456789ab", UserID: "evil\x00",
				Surface: records.SurfaceSimilar, ProductIDs: []string{milk}, ServedAt: time.Now()})
		}
		r := fx.get("/v1/products/"+milk+"/similar?k=3&user_id="+user, fx.read)
		var b servedBody
		r.json(t, &b)
		if r.status != 200 || b.ImpressionID == "" {
			t.Fatalf("similar: %d %s", r.status, r.body)
		}
		served = append(served, b.ImpressionID)
	}
	if err := fx.api.FlushImpressions(t.Context()); err != nil {
		t.Fatalf("flush with one refused row: %v", err)
	}
	for i, id := range served {
		if _, ok := fx.impression(id); !ok {
			t.Errorf("impression %d of shopper-%d was lost with the refused row", i, i)
		}
	}
	if n := fx.count(`SELECT count(*) FROM impressions`); n != len(served) {
		t.Errorf("%d impressions written, want %d", n, len(served))
	}
}

// Product views list no server paths: the demo catalog's images are local
// files, listed as /media/{id}/{n} URLs.
func TestProductViewsHideServerPaths(t *testing.T) {
	fx := newFixture(t)
	for _, path := range []string{"/v1/products/" + milk, "/v1/search?q=milk&k=5", "/v1/products/" + milk + "/similar?k=5"} {
		r := fx.get(path, fx.read)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
		if l := leaks(string(r.body)); l != "" || strings.Contains(string(r.body), ".jpg") {
			t.Errorf("%s lists a server path (%q): %s", path, l, r.body)
		}
	}
	var p struct{ Images []string }
	fx.get("/v1/products/"+milk, fx.read).json(t, &p)
	if len(p.Images) != 1 || p.Images[0] != "/media/"+milk+"/0" {
		t.Errorf("images %v, want [/media/%s/0]", p.Images, milk)
	}
}

// syncBuffer is a log sink requests may write to concurrently.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// lines returns the log lines written so far.
func (s *syncBuffer) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b.Len() == 0 {
		return nil
	}
	return strings.Split(strings.TrimSpace(s.b.String()), "\n")
}

// Every failed request is logged once, not once by the metrics middleware
// and again by the error handler.
func TestErrorsLoggedOnce(t *testing.T) {
	env := apitest.New(t)
	var logs syncBuffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	cfg := api.DefaultConfig()
	cfg.Auth, cfg.RateLimit, cfg.Impressions.Enabled = api.AuthOff, 0, false
	svc, err := api.DefaultService(env.Store, env.Encoders, log)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := api.New(cfg, api.Deps{Service: svc, Store: env.Store, Encoders: env.Encoders, Indexer: env.Indexer, Media: env.Media, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	tests := []struct {
		name   string
		before func()
		method string
		path   string
		body   string
		status int
		logged string
	}{
		{"internal photo URL", nil, "POST", "/v1/search/image", `{"url":"` + ts.URL + `/metrics"}`, 422, "photo URL not fetched"},
		{"database down", env.Store.Close, "GET", "/v1/search?q=milk", "", 503, "database unavailable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.before != nil {
				tc.before()
			}
			before := len(logs.lines())
			req, _ := http.NewRequest(tc.method, ts.URL+tc.path, strings.NewReader(tc.body))
			if tc.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			got := logs.lines()[before:]
			if len(got) != 1 || !strings.Contains(got[0], tc.logged) {
				t.Errorf("logged %d lines, want one saying %q:\n%s", len(got), tc.logged, strings.Join(got, "\n"))
			}
		})
	}
}

// /readyz tells why a check failed only to a caller with an admin key.
func TestReadyzDetailForAdmins(t *testing.T) {
	env := apitest.New(t)
	svc, err := api.DefaultService(env.Store, env.Encoders, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := api.DefaultConfig()
	cfg.Auth, cfg.Impressions.Enabled = api.AuthRequired, false
	// No models loaded: the models check fails.
	srv, err := api.New(cfg, api.Deps{Service: svc, Store: env.Store, Encoders: &extractors.Set{}, Indexer: env.Indexer, Media: env.Media})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	_, admin, _ := env.Store.CreateAPIKey(t.Context(), "ops", []records.Scope{records.ScopeAdmin})
	_, reader, _ := env.Store.CreateAPIKey(t.Context(), "reader", []records.Scope{records.ScopeRead})
	for _, tc := range []struct {
		name, key  string
		wantReason bool
	}{
		{"anonymous", "", false},
		{"read key", reader, false},
		{"wrong key", "vk_nope_secret", false},
		{"admin key", admin, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", ts.URL+"/readyz", nil)
			if tc.key != "" {
				req.Header.Set("Authorization", "Bearer "+tc.key)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var checks map[string]string
			if err := json.NewDecoder(resp.Body).Decode(&checks); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 503 || checks["models"] != "unavailable" || checks["database"] != "ok" {
				t.Fatalf("%d %v", resp.StatusCode, checks)
			}
			if got := checks["models_reason"] == "no model loaded"; got != tc.wantReason {
				t.Errorf("reason shown %v, want %v: %v", got, tc.wantReason, checks)
			}
		})
	}
}

// Once an upload burst drains, the freed heap is handed back to the
// system, once per burst (the RSS figures are `vitrine bench hostile`'s).
func TestMemoryReturnedAfterUploadBurst(t *testing.T) {
	env := apitest.New(t)
	var logs syncBuffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := api.DefaultConfig()
	cfg.Impressions.Enabled = false
	svc, err := api.DefaultService(env.Store, env.Encoders, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := api.New(cfg, api.Deps{Service: svc, Store: env.Store, Encoders: env.Encoders, Indexer: env.Indexer, Media: env.Media, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { srv.ReturnMemory(ctx, time.Millisecond, 20*time.Millisecond); close(done) }()
	returned := func() int { return strings.Count(strings.Join(logs.lines(), "\n"), "freed memory returned") }
	waitFor := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); returned() < n && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
	}
	// No uploads, no release.
	time.Sleep(50 * time.Millisecond)
	if n := returned(); n != 0 {
		t.Errorf("%d releases without uploads", n)
	}
	for burst := 1; burst <= 2; burst++ {
		free := srv.TakeUploadSlots()
		time.Sleep(20 * time.Millisecond)
		free()
		waitFor(burst)
		time.Sleep(50 * time.Millisecond) // idle: no further release
		if n := returned(); n != burst {
			t.Errorf("after burst %d: %d releases", burst, n)
		}
	}
	cancel()
	<-done
}

// A decompression bomb is refused before it queues for a decoding slot,
// so bombs never hold the slots a normal photo search waits for: with
// every slot taken a bomb is still a 422 at once, a normal photo a 503.
func TestBombsRefusedBeforeTheQueue(t *testing.T) {
	fx := newFixtureWith(t, func(c *api.Config) { c.MaxUploads, c.UploadQueue = 1, 20*time.Millisecond })
	free := fx.api.TakeUploadSlots()
	defer free()
	for _, raw := range []int{64 << 20, 1 << 30} {
		r := fx.upload(pngBomb(raw))
		var p problemBody
		r.json(t, &p)
		if r.status != 422 || !p.names("image") {
			t.Errorf("bomb of %d bytes with every slot taken: %d %s", raw, r.status, r.body)
		}
	}
	photo, err := os.ReadFile(filepath.Join(fx.images, "Red-Grapefruit.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	part, _ := w.CreateFormFile("image", "photo.jpg")
	_, _ = part.Write(photo)
	_ = w.Close()
	req, _ := http.NewRequest("POST", fx.srv.URL+"/v1/search/image", &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+fx.read)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Errorf("normal photo with every slot taken: %d, want 503", resp.StatusCode)
	}
}

// With no upload queue (server.upload_queue 0) a free slot and free byte
// budget are still taken at once: sequential photo searches all succeed.
func TestZeroUploadQueueServesSequentialUploads(t *testing.T) {
	fx := newFixtureWith(t, func(c *api.Config) { c.MaxUploads, c.UploadQueue = 1, 0 })
	photo, err := hostile.NoisePNG(64, 64)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		if r := fx.upload(photo); r.status != 200 {
			t.Fatalf("upload %d: %d %s", i, r.status, r.body)
		}
	}
}
