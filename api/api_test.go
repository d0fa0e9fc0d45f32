package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vitrinehq/vitrine/api"
	"github.com/vitrinehq/vitrine/internal/apitest"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/serving"
	"github.com/vitrinehq/vitrine/store"
	"github.com/vitrinehq/vitrine/training"
)

// fixture is a running API over the demo grocery catalog with real models.
type fixture struct {
	t                    *testing.T
	srv                  *httptest.Server
	api                  *api.Server
	st                   *store.Store
	db                   *pgxpool.Pool // raw SQL for assertions
	read, write, revoked string
	router               routers.Router
	images               string
	dim                  int
}

func newFixture(t *testing.T) *fixture { return newFixtureWith(t, nil) }

// newFixtureWith lets a test adjust the server's configuration first, and
// configure its use-case layer.
func newFixtureWith(t *testing.T, configure func(*api.Config), opts ...serving.Option) *fixture {
	t.Helper()
	ctx := t.Context()
	a := apitest.New(t)
	st, set, ix, media, root, sp := a.Store, a.Encoders, a.Indexer, a.Media, a.Root, a.Space
	cfg := api.DefaultConfig()
	cfg.Auth = api.AuthRequired
	cfg.RateLimit = 0
	cfg.BodyLimit = "2M"
	if configure != nil {
		configure(&cfg)
	}
	svc, err := api.DefaultService(st, set, nil, opts...)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := api.New(cfg, api.Deps{Service: svc, Store: st, Encoders: set, Indexer: ix, Media: media})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)

	fx := &fixture{t: t, srv: ts, api: srv, st: st, db: a.DB, images: filepath.Join(root, "demo", "grocery", "images"), dim: sp.Dim}
	_, fx.read, _ = st.CreateAPIKey(ctx, "reader", []records.Scope{records.ScopeRead})
	_, fx.write, _ = st.CreateAPIKey(ctx, "writer", []records.Scope{records.ScopeWrite})
	k, tok, _ := st.CreateAPIKey(ctx, "old", []records.Scope{records.ScopeAdmin})
	fx.revoked = tok
	if err := st.RevokeAPIKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.yaml is invalid: %v", err)
	}
	doc.Servers = openapi3.Servers{{URL: ts.URL}}
	if fx.router, err = gorillamux.NewRouter(doc); err != nil {
		t.Fatal(err)
	}
	return fx
}

type response struct {
	status int
	body   []byte
	ctype  string
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("response %d %s: %v", r.status, r.body, err)
	}
}

// do sends a request and checks the response against the OpenAPI contract.
func (fx *fixture) do(method, path, key, ctype string, body []byte) response {
	t := fx.t
	t.Helper()
	req, err := http.NewRequest(method, fx.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := response{status: resp.StatusCode, body: b, ctype: resp.Header.Get("Content-Type")}
	if r.status >= 500 {
		t.Errorf("%s %s: %d %s", method, path, r.status, b)
	}
	if r.status >= 400 && !strings.HasPrefix(r.ctype, "application/problem+json") {
		t.Errorf("%s %s: error %d with content type %q, want problem+json", method, path, r.status, r.ctype)
	}
	fx.validate(req, resp, b)
	return r
}

func (fx *fixture) validate(req *http.Request, resp *http.Response, body []byte) {
	t := fx.t
	t.Helper()
	route, params, err := fx.router.FindRoute(req)
	if err != nil {
		t.Errorf("%s %s is not in openapi.yaml: %v", req.Method, req.URL.Path, err)
		return
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, ExcludeRequestBody: true}}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	out.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Errorf("%s %s -> %d does not match openapi.yaml: %v\n%s", req.Method, req.URL.Path, resp.StatusCode, err, body)
	}
}

func (fx *fixture) get(path, key string) response { return fx.do("GET", path, key, "", nil) }
func (fx *fixture) post(path, key string, v any) response {
	b, _ := json.Marshal(v)
	return fx.do("POST", path, key, "application/json", b)
}

type hitsBody struct {
	Results []struct {
		ID      string `json:"id"`
		Score   float64
		Explain []struct {
			Name  string
			Score float64
		}
		Because []struct{ ID, Title string }
		Product struct{ Title string }
	} `json:"results"`
	Strategy string `json:"strategy"`
}

func ids(h hitsBody) []string {
	var out []string
	for _, r := range h.Results {
		out = append(out, r.ID)
	}
	return out
}

func TestAuthMatrix(t *testing.T) {
	fx := newFixture(t)
	product := map[string]any{"products": []any{map[string]any{"id": "auth-1", "title": "Auth test apple"}}}
	tests := []struct {
		name   string
		method string
		path   string
		key    string
		body   any
		want   int
	}{
		{"public health", "GET", "/healthz", "", nil, 200},
		{"public ready", "GET", "/readyz", "", nil, 200},
		{"public metrics", "GET", "/metrics", "", nil, 200},
		{"public contract", "GET", "/openapi.yaml", "", nil, 200},
		{"no key", "GET", "/v1/search?q=apple", "", nil, 401},
		{"garbage key", "GET", "/v1/search?q=apple", "vk_nope_nope", nil, 401},
		{"revoked key", "GET", "/v1/search?q=apple", fx.revoked, nil, 401},
		{"read key reads", "GET", "/v1/search?q=apple", fx.read, nil, 200},
		{"write key reads", "GET", "/v1/products/grocery-00-golden-delicious", fx.write, nil, 200},
		{"read key cannot write", "POST", "/v1/products", fx.read, product, 403},
		{"read key cannot delete", "DELETE", "/v1/products/grocery-00-golden-delicious", fx.read, nil, 403},
		{"read key cannot erase users", "DELETE", "/v1/users/u1", fx.read, nil, 403},
		{"no key cannot write", "POST", "/v1/events", "", map[string]any{"events": []any{}}, 401},
		{"write key writes", "POST", "/v1/products", fx.write, product, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r response
			if tc.body != nil {
				r = fx.post(tc.path, tc.key, tc.body)
			} else {
				r = fx.do(tc.method, tc.path, tc.key, "", nil)
			}
			if r.status != tc.want {
				t.Errorf("%s %s: %d, want %d: %s", tc.method, tc.path, r.status, tc.want, r.body)
			}
		})
	}
}

func TestEndpoints(t *testing.T) {
	fx := newFixture(t)
	k := fx.read

	// Hybrid search with facets; filters keep k results when k match.
	var sr struct {
		hitsBody
		Facets struct{ Category map[string]int }
	}
	r := fx.get("/v1/search?q=apple&k=5", k)
	r.json(t, &sr)
	if r.status != 200 || len(sr.Results) != 5 || !strings.Contains(strings.ToLower(sr.Results[0].Product.Title), "apple") {
		t.Errorf("search apple: %d %v", r.status, ids(sr.hitsBody))
	}
	if sr.Facets.Category["Fruit"] == 0 {
		t.Errorf("facets %+v", sr.Facets)
	}
	r = fx.get("/v1/search?q=apple&k=10&category=Vegetables", k)
	r.json(t, &sr)
	if len(sr.Results) != 10 {
		t.Errorf("filtered search gave %d results, want 10 (there are more than 10 vegetables)", len(sr.Results))
	}
	for _, h := range sr.Results {
		if !strings.HasPrefix(h.ID, "grocery-") {
			t.Errorf("unexpected id %s", h.ID)
		}
	}
	// A query with no word the text model knows is answered by lexical
	// search alone, not refused.
	if r := fx.get("/v1/search?q=qqzxv", k); r.status != 200 {
		t.Errorf("search without a known word: %d %s", r.status, r.body)
	}
	// Suggestions are typo tolerant.
	var sug struct{ Suggestions []struct{ Text, Kind string } }
	fx.get("/v1/suggest?q=banan", k).json(t, &sug)
	if len(sug.Suggestions) == 0 || !strings.Contains(strings.ToLower(sug.Suggestions[0].Text), "banana") {
		t.Errorf("suggest banan: %+v", sug)
	}
	fx.get("/v1/suggest?q=yoghrt", k).json(t, &sug)
	found := false
	for _, s := range sug.Suggestions {
		found = found || strings.Contains(strings.ToLower(s.Text), "yoghurt")
	}
	if !found {
		t.Errorf("suggest with a typo (yoghrt): %+v", sug)
	}
	// Similar products.
	var sim hitsBody
	fx.get("/v1/products/grocery-00-golden-delicious/similar?k=3", k).json(t, &sim)
	if len(sim.Results) != 3 || sim.Results[0].ID == "grocery-00-golden-delicious" {
		t.Errorf("similar: %v", ids(sim))
	}
	// Rank: a query, explained per modality.
	var rk hitsBody
	fx.post("/v1/rank", k, map[string]any{"query": "fresh milk", "k": 3, "explain": true}).json(t, &rk)
	if len(rk.Results) != 3 || len(rk.Results[0].Explain) != 2 || rk.Results[0].Explain[0].Name != "text" {
		t.Errorf("rank query: %+v", rk)
	}
	// Rank: re-rank candidates, reporting unknown ones.
	var rr struct {
		hitsBody
		Missing []string
	}
	fx.post("/v1/rank", k, map[string]any{"query": "apple", "candidate_ids": []string{"grocery-61-cabbage", "grocery-00-golden-delicious", "ghost"}}).json(t, &rr)
	if len(rr.Results) != 2 || rr.Results[0].ID != "grocery-00-golden-delicious" || len(rr.Missing) != 1 {
		t.Errorf("re-rank: %+v", rr)
	}
	// Search by photo: a catalog photo finds its product first.
	var ir hitsBody
	fx.searchImage(filepath.Join(fx.images, "Red-Grapefruit.jpg"), 5, "").json(t, &ir)
	if len(ir.Results) == 0 || ir.Results[0].ID != "grocery-26-red-grapefruit" {
		t.Errorf("search by photo: %v", ids(ir))
	}
	// Product CRUD.
	if r := fx.get("/v1/products/grocery-61-cabbage", k); r.status != 200 {
		t.Errorf("get product: %d", r.status)
	}
	if r := fx.do("DELETE", "/v1/products/grocery-61-cabbage", fx.write, "", nil); r.status != 204 {
		t.Errorf("delete product: %d %s", r.status, r.body)
	}
	if r := fx.get("/v1/products/grocery-61-cabbage", k); r.status != 404 {
		t.Errorf("deleted product: %d", r.status)
	}
	fx.get("/v1/search?q=cabbage&k=50", k).json(t, &sr)
	for _, h := range sr.Results {
		if h.ID == "grocery-61-cabbage" {
			t.Error("deleted product still found by search")
		}
	}
	var met bytes.Buffer
	met.Write(fx.get("/metrics", "").body)
	if !strings.Contains(met.String(), `vitrine_http_request_duration_seconds_count{method="GET",route="/v1/search",status="200"}`) {
		t.Errorf("metrics lack the search route histogram")
	}
}

// searchImage posts the photo at path to POST /v1/search/image for k
// products, as user when not empty.
func (fx *fixture) searchImage(path string, k int, user string) response {
	fx.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	part, _ := w.CreateFormFile("image", filepath.Base(path))
	b, err := os.ReadFile(path)
	if err != nil {
		fx.t.Fatal(err)
	}
	part.Write(b)
	w.WriteField("k", strconv.Itoa(k))
	if user != "" {
		w.WriteField("user_id", user)
	}
	w.Close()
	return fx.do("POST", "/v1/search/image", fx.read, w.FormDataContentType(), body.Bytes())
}

func TestBadInputs(t *testing.T) {
	fx := newFixture(t)
	type problem struct {
		Status int
		Detail string
		Errors []struct{ Field, Reason string }
	}
	tests := []struct {
		name   string
		method string
		path   string
		key    string
		ctype  string
		body   string
		want   int
		field  string
	}{
		{"unknown field", "POST", "/v1/rank", fx.read, "application/json", `{"query":"x","bogus":1}`, 400, "bogus"},
		{"wrong type", "POST", "/v1/rank", fx.read, "application/json", `{"query":"x","k":"ten"}`, 400, "k"},
		{"malformed JSON", "POST", "/v1/rank", fx.read, "application/json", `{"query":`, 400, ""},
		{"k out of range", "POST", "/v1/rank", fx.read, "application/json", `{"query":"x","k":0}`, 422, "k"},
		{"k too large", "GET", "/v1/search?q=x&k=100000", fx.read, "", "", 422, "k"},
		{"k not a number", "GET", "/v1/search?q=x&k=abc", fx.read, "", "", 422, "k"},
		{"no query", "GET", "/v1/search", fx.read, "", "", 422, "q"},
		{"query without a known word", "POST", "/v1/rank", fx.read, "application/json", `{"query":"qqzxv"}`, 422, "query"},
		{"two inputs", "POST", "/v1/rank", fx.read, "application/json", `{"query":"x","user_id":"u"}`, 422, "user_id"},
		{"vector of the wrong dimension", "POST", "/v1/rank", fx.read, "application/json", `{"user_vector":[1,2,3]}`, 422, "user_vector"},
		{"bad price range", "GET", "/v1/search?q=x&min_price=5&max_price=1", fx.read, "", "", 422, "min_price"},
		{"wrong content type", "POST", "/v1/rank", fx.read, "text/plain", `hello`, 415, ""},
		{"unknown user", "POST", "/v1/rank", fx.read, "application/json", `{"user_id":"nobody"}`, 404, ""},
		{"unknown product", "GET", "/v1/products/nope", fx.read, "", "", 404, ""},
		{"bad event type", "POST", "/v1/events", fx.write, "application/json",
			`{"events":[{"client_event_id":"1","user_id":"u","product_id":"grocery-61-cabbage","type":"like","timestamp":"2026-01-01T00:00:00Z"}]}`, 422, "events[0].type"},
		{"local media path refused", "POST", "/v1/products", fx.write, "application/json",
			`{"products":[{"id":"x","title":"X","images":["/etc/passwd"]}]}`, 422, "products[0].images[0]"},
		{"product without title", "POST", "/v1/products", fx.write, "application/json", `{"products":[{"id":"x"}]}`, 422, ""},
		{"empty batch", "POST", "/v1/events", fx.write, "application/json", `{"events":[]}`, 422, "events"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := fx.do(tc.method, tc.path, tc.key, tc.ctype, []byte(tc.body))
			if r.status != tc.want {
				t.Fatalf("%d, want %d: %s", r.status, tc.want, r.body)
			}
			if !strings.HasPrefix(r.ctype, "application/problem+json") {
				t.Errorf("content type %q", r.ctype)
			}
			if tc.field != "" {
				var p problem
				r.json(t, &p)
				named := strings.Contains(p.Detail, tc.field)
				for _, e := range p.Errors {
					named = named || e.Field == tc.field
				}
				if !named {
					t.Errorf("problem does not name %q: %s", tc.field, r.body)
				}
			}
		})
	}
	// Oversized upload: 413, not 500.
	big := bytes.Repeat([]byte("x"), 3<<20)
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	part, _ := w.CreateFormFile("image", "big.jpg")
	part.Write(big)
	w.Close()
	if r := fx.do("POST", "/v1/search/image", fx.read, w.FormDataContentType(), body.Bytes()); r.status != 413 {
		t.Errorf("oversized upload: %d %s", r.status, r.body)
	}
	// Not an image: 422 naming the image.
	body.Reset()
	w = multipart.NewWriter(&body)
	part, _ = w.CreateFormFile("image", "x.jpg")
	part.Write([]byte("GIF89a not really"))
	w.Close()
	if r := fx.do("POST", "/v1/search/image", fx.read, w.FormDataContentType(), body.Bytes()); r.status != 422 || !strings.Contains(string(r.body), "image") {
		t.Errorf("not an image: %d %s", r.status, r.body)
	}
}

func event(id, user, product, typ string, at time.Time) map[string]any {
	return map[string]any{"client_event_id": id, "user_id": user, "product_id": product, "type": typ, "timestamp": at.Format(time.RFC3339Nano)}
}

// A user who views and buys products sees ranking and recommendations
// change on the next call; deleting the user leaves no row naming them.
func TestEventsPersonaliseAndErase(t *testing.T) {
	fx := newFixture(t)
	const user = "shopper-42"
	// Cold start: popular items (none yet) and no user vector.
	var rec hitsBody
	fx.get("/v1/users/"+user+"/recommendations?k=5", fx.read).json(t, &rec)
	if rec.Strategy != "popular" {
		t.Errorf("cold start strategy %q", rec.Strategy)
	}
	now := time.Now().UTC()
	milk := []string{"grocery-41-arla-standard-milk", "grocery-38-arla-ecological-medium-fat-milk", "grocery-39-arla-lactose-medium-fat-milk"}
	evs := []any{
		event("e1", user, milk[0], "view", now.Add(-3*time.Minute)),
		event("e2", user, milk[1], "add_to_cart", now.Add(-2*time.Minute)),
		event("e3", user, milk[1], "purchase", now.Add(-time.Minute)),
	}
	var er struct{ Results []struct{ Status string } }
	fx.post("/v1/events", fx.write, map[string]any{"events": evs}).json(t, &er)
	for _, r := range er.Results {
		if r.Status != "accepted" {
			t.Fatalf("events: %+v", er)
		}
	}
	// Retrying the batch is harmless.
	fx.post("/v1/events", fx.write, map[string]any{"events": evs}).json(t, &er)
	if er.Results[0].Status != "duplicate" {
		t.Errorf("retry: %+v", er)
	}
	fx.get("/v1/users/"+user+"/recommendations?k=5", fx.read).json(t, &rec)
	if rec.Strategy != "content" || len(rec.Results) != 5 {
		t.Fatalf("recommendations after events: %+v", rec)
	}
	for _, r := range rec.Results {
		if r.ID == milk[1] {
			t.Error("recommended a product the user already bought")
		}
		if len(r.Because) == 0 {
			t.Errorf("%s has no because-explanation", r.ID)
		}
	}
	if !strings.Contains(strings.Join(ids(rec), " "), "milk") {
		t.Errorf("a milk buyer's recommendations have no milk: %v", ids(rec))
	}
	// Re-ranking: one product per category; stronger diversity
	// changes the list; a bad value is a 422 naming the parameter.
	var capped struct {
		hitsBody
		Gini *float64 `json:"brand_exposure_gini"`
	}
	fx.get("/v1/users/"+user+"/recommendations?k=3&max_per_category=1", fx.read).json(t, &capped)
	tops := map[string]bool{}
	for _, r := range capped.Results {
		p, _ := fx.st.GetProduct(t.Context(), r.ID)
		tops[strings.Join(p.Category[:2], " > ")] = true
	}
	if len(capped.Results) != 3 || len(tops) != 3 || capped.Gini == nil {
		t.Errorf("max_per_category=1 gave %v over %d top categories (gini %v)", ids(capped.hitsBody), len(tops), capped.Gini)
	}
	var diverse hitsBody
	fx.get("/v1/users/"+user+"/recommendations?k=5&mmr_lambda=0.1", fx.read).json(t, &diverse)
	if strings.Join(ids(diverse), ",") == strings.Join(ids(rec), ",") {
		t.Errorf("mmr_lambda=0.1 did not change the list %v", ids(rec))
	}
	if r := fx.get("/v1/users/"+user+"/recommendations?mmr_lambda=2", fx.read); r.status != 422 || !strings.Contains(string(r.body), "mmr_lambda") {
		t.Errorf("bad mmr_lambda: %d %s", r.status, r.body)
	}
	var before hitsBody
	fx.post("/v1/rank", fx.read, map[string]any{"user_id": user, "k": 3}).json(t, &before)
	// Now the user turns to fruit: the next call reflects it.
	fruit := []string{"grocery-06-banana", "grocery-07-kiwi", "grocery-16-orange", "grocery-09-lime"}
	var more []any
	for i, p := range fruit {
		more = append(more, event(fmt.Sprintf("f%d", i), user, p, "purchase", now.Add(time.Duration(i)*time.Second)))
	}
	fx.post("/v1/events", fx.write, map[string]any{"events": more})
	var after hitsBody
	fx.post("/v1/rank", fx.read, map[string]any{"user_id": user, "k": 3}).json(t, &after)
	if strings.Join(ids(before), ",") == strings.Join(ids(after), ",") {
		t.Errorf("ranking did not change after new purchases: %v", ids(after))
	}
	// Personalised search and suggestions accept the user.
	if r := fx.get("/v1/search?q=juice&user_id="+user, fx.read); r.status != 200 {
		t.Errorf("personalised search: %d", r.status)
	}
	if r := fx.get("/v1/suggest?q=mil&user_id="+user, fx.read); r.status != 200 {
		t.Errorf("personalised suggest: %d", r.status)
	}

	if r := fx.do("DELETE", "/v1/users/"+user, fx.write, "", nil); r.status != 204 {
		t.Fatalf("erase: %d %s", r.status, r.body)
	}
	ctx := t.Context()
	rows, err := fx.db.Query(ctx, `SELECT c.table_name, c.column_name FROM information_schema.columns c
		JOIN information_schema.tables t USING (table_schema, table_name)
		WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' AND c.data_type IN ('text', 'jsonb')`)
	if err != nil {
		t.Fatal(err)
	}
	var cols [][2]string
	for rows.Next() {
		var tbl, col string
		rows.Scan(&tbl, &col)
		cols = append(cols, [2]string{tbl, col})
	}
	rows.Close()
	for _, c := range cols {
		var n int
		q := fmt.Sprintf(`SELECT count(*) FROM %q WHERE %q::text LIKE '%%' || $1 || '%%'`, c[0], c[1])
		if err := fx.db.QueryRow(ctx, q, user).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			t.Errorf("%d rows of %s.%s still name the erased user", n, c[0], c[1])
		}
	}
	if r := fx.do("DELETE", "/v1/users/"+user, fx.write, "", nil); r.status != 404 {
		t.Errorf("second erase: %d", r.status)
	}
}

// After training, recommendations blend collaborative filtering with
// content and popularity; users newer than the model are folded in.
func TestHybridRecommendations(t *testing.T) {
	fx := newFixture(t)
	now := time.Now().UTC().Add(-time.Hour)
	milk := []string{"grocery-38-arla-ecological-medium-fat-milk", "grocery-39-arla-lactose-medium-fat-milk", "grocery-40-arla-medium-fat-milk", "grocery-41-arla-standard-milk", "grocery-42-garant-ecological-medium-fat-milk"}
	fruit := []string{"grocery-06-banana", "grocery-07-kiwi", "grocery-16-orange", "grocery-09-lime", "grocery-08-lemon"}
	var evs []any
	for u := range 10 {
		group := milk
		if u >= 5 {
			group = fruit
		}
		for j, p := range group {
			if (u+j)%5 == 0 {
				continue // each user misses one product of their group
			}
			evs = append(evs, event(fmt.Sprintf("h%d-%d", u, j), fmt.Sprintf("hu%d", u), p, "purchase", now.Add(time.Duration(j)*time.Minute)))
		}
	}
	if r := fx.post("/v1/events", fx.write, map[string]any{"events": evs}); r.status != 200 {
		t.Fatalf("events: %d %s", r.status, r.body)
	}
	rep, err := training.Train(t.Context(), fx.st, training.Options{Factors: 8, Reg: 1, Iterations: 15, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Users != 10 {
		t.Fatalf("trained on %d users", rep.Users)
	}
	var rec struct {
		hitsBody
		CFModel int `json:"cf_model"`
	}
	fx.get("/v1/users/hu0/recommendations?k=3", fx.read).json(t, &rec)
	if rec.Strategy != "hybrid" || rec.CFModel != rep.Version || len(rec.Results) != 3 {
		t.Fatalf("recommendations after training: %+v", rec)
	}
	// hu0 skipped milk[0]; the users like them bought it.
	if rec.Results[0].ID != milk[0] {
		t.Errorf("hu0's top recommendation %s, want the milk its neighbours bought (%s): %v", rec.Results[0].ID, milk[0], ids(rec.hitsBody))
	}
	hasCF := false
	for _, p := range rec.Results[0].Explain {
		hasCF = hasCF || p.Name == "collaborative"
	}
	if !hasCF {
		t.Errorf("no collaborative part in %+v", rec.Results[0].Explain)
	}
	// Similar products: people who bought this milk bought the other milks.
	var sim hitsBody
	fx.get("/v1/products/"+milk[1]+"/similar?k=4", fx.read).json(t, &sim)
	withCF := 0
	for _, r := range sim.Results {
		for _, p := range r.Explain {
			if p.Name == "collaborative" {
				withCF++
			}
		}
	}
	if len(sim.Results) != 4 || withCF == 0 {
		t.Errorf("similar after training: %+v", sim.Results)
	}
	// A user who arrives after training is folded in from their events.
	fx.post("/v1/events", fx.write, map[string]any{"events": []any{
		event("new-1", "newcomer", fruit[0], "purchase", now), event("new-2", "newcomer", fruit[1], "purchase", now)}})
	fx.get("/v1/users/newcomer/recommendations?k=3", fx.read).json(t, &rec)
	fruity := 0
	for _, r := range rec.Results {
		hasCF = false
		for _, p := range r.Explain {
			hasCF = hasCF || p.Name == "collaborative"
		}
		if !hasCF {
			t.Errorf("newcomer's %s has no collaborative part (fold-in failed?)", r.ID)
		}
		if slices.Contains(fruit, r.ID) {
			fruity++
		}
	}
	if rec.Strategy != "hybrid" || fruity < 2 {
		t.Errorf("newcomer who bought fruit got %v (%s)", ids(rec.hitsBody), rec.Strategy)
	}
	// Erasure removes the user's factors at once.
	fx.do("DELETE", "/v1/users/hu0", fx.write, "", nil)
	var n int
	if err := fx.db.QueryRow(t.Context(), `SELECT count(*) FROM user_factors WHERE user_id = 'hu0'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d factor rows remain for the erased user (%v)", n, err)
	}
}

// A client over its rate gets 429; its limiter is forgotten once it has
// refilled, so limiters do not pile up per client IP.
func TestRateLimitAndSweep(t *testing.T) {
	fx := newFixtureWith(t, func(c *api.Config) { c.RateLimit, c.RateBurst = 1, 2 })
	var codes []int
	for range 3 {
		codes = append(codes, fx.get("/v1/suggest?q=ap", fx.read).status)
	}
	if codes[0] != 200 || codes[1] != 200 || codes[2] != http.StatusTooManyRequests {
		t.Fatalf("statuses %v, want 200 200 429 (rate 1/s, burst 2)", codes)
	}
	if n := fx.api.SweepLimiters(time.Now()); n != 1 {
		t.Errorf("%d limiters kept while the client is throttled, want 1", n)
	}
	if n := fx.api.SweepLimiters(time.Now().Add(5 * time.Second)); n != 0 {
		t.Errorf("%d limiters kept after they refilled, want 0", n)
	}
	if r := fx.get("/v1/suggest?q=ap", fx.read); r.status != 200 {
		t.Errorf("after the sweep: %d, want 200", r.status)
	}
}
