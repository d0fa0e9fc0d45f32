package api_test

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/api"
	"github.com/vitrinehq/vitrine/experiment"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/serving"
)

// The experiment of these tests: the treatment searches by vectors only
// and diversifies recommendations strongly.
const (
	expName      = "online-test"
	expVariants  = "control:50,treatment:50"
	expOverrides = "treatment.lexical_weight=0,treatment.mmr_lambda=0.1"
)

func onlineFixture(t *testing.T, configure func(*api.Config)) (*fixture, *experiment.Experiment) {
	t.Helper()
	exp, err := experiment.Parse(expName, expVariants, expOverrides)
	if err != nil {
		t.Fatal(err)
	}
	sc := serving.DefaultConfig()
	sc.Experiment = exp
	fx := newFixtureWith(t, func(c *api.Config) {
		// Nothing is written behind the tests' back: they flush.
		c.Impressions.FlushEvery = time.Hour
		if configure != nil {
			configure(c)
		}
	}, serving.WithConfig(sc))
	return fx, exp
}

// userIn finds a user id the experiment assigns to the variant.
func userIn(t *testing.T, exp *experiment.Experiment, variant, prefix string) string {
	t.Helper()
	for i := range 1000 {
		u := fmt.Sprintf("%s-%d", prefix, i)
		if exp.Assign(u).Name == variant {
			return u
		}
	}
	t.Fatalf("no user in %s", variant)
	return ""
}

type servedBody struct {
	hitsBody
	ImpressionID string `json:"impression_id"`
	Variant      string `json:"variant"`
}

type impressionRow struct {
	user                         *string
	surface, experiment, variant string
	products                     []string
	servedAt                     time.Time
}

func (fx *fixture) flush() {
	fx.t.Helper()
	if err := fx.api.FlushImpressions(fx.t.Context()); err != nil {
		fx.t.Fatal(err)
	}
}

func (fx *fixture) impression(id string) (impressionRow, bool) {
	fx.t.Helper()
	var r impressionRow
	err := fx.db.QueryRow(fx.t.Context(), `SELECT user_id, surface, experiment, variant, product_ids, served_at
		FROM impressions WHERE id = $1::uuid`, id).Scan(&r.user, &r.surface, &r.experiment, &r.variant, &r.products, &r.servedAt)
	if err != nil {
		return r, false
	}
	return r, true
}

func (fx *fixture) count(q string, args ...any) int {
	fx.t.Helper()
	var n int
	if err := fx.db.QueryRow(fx.t.Context(), q, args...).Scan(&n); err != nil {
		fx.t.Fatal(err)
	}
	return n
}

// Every surface logs one impression per list served, with the served
// order, the user and the user's variant; anonymous lists get the control.
func TestImpressionsForEverySurface(t *testing.T) {
	fx, exp := onlineFixture(t, nil)
	treated := userIn(t, exp, "treatment", "shopper")
	// The user needs a vector for POST /v1/rank by user_id.
	now := time.Now().UTC()
	if r := fx.post("/v1/events", fx.write, map[string]any{"events": []any{
		event("v1", treated, "grocery-41-arla-standard-milk", "view", now.Add(-time.Minute))}}); r.status != 200 {
		t.Fatalf("event: %d %s", r.status, r.body)
	}
	image := filepath.Join(fx.images, "Red-Grapefruit.jpg")
	tests := []struct {
		surface string
		user    string // "" for anonymous
		call    func() response
	}{
		{records.SurfaceSearch, treated, func() response { return fx.get("/v1/search?q=apple&k=4&user_id="+treated, fx.read) }},
		{records.SurfaceSearch, "", func() response { return fx.get("/v1/search?q=apple&k=4", fx.read) }},
		{records.SurfaceRank, treated, func() response {
			return fx.post("/v1/rank", fx.read, map[string]any{"user_id": treated, "k": 4})
		}},
		{records.SurfaceRank, "", func() response { return fx.post("/v1/rank", fx.read, map[string]any{"query": "milk", "k": 4}) }},
		{records.SurfaceRecommendations, treated, func() response { return fx.get("/v1/users/"+treated+"/recommendations?k=4", fx.read) }},
		{records.SurfaceSimilar, treated, func() response {
			return fx.get("/v1/products/grocery-06-banana/similar?k=4&user_id="+treated, fx.read)
		}},
		{records.SurfaceSimilar, "", func() response { return fx.get("/v1/products/grocery-06-banana/similar?k=4", fx.read) }},
		{records.SurfaceImageSearch, treated, func() response { return fx.searchImage(image, 4, treated) }},
		{records.SurfaceImageSearch, "", func() response { return fx.searchImage(image, 4, "") }},
	}
	var seen []string
	for _, tc := range tests {
		t.Run(tc.surface+"/"+map[bool]string{true: "anonymous", false: "user"}[tc.user == ""], func(t *testing.T) {
			before := time.Now()
			r := tc.call()
			var b servedBody
			r.json(t, &b)
			if r.status != 200 || len(b.Results) == 0 {
				t.Fatalf("%d %s", r.status, r.body)
			}
			wantVariant := "control"
			if tc.user != "" {
				wantVariant = "treatment"
			}
			if b.Variant != wantVariant {
				t.Errorf("response variant %q, want %q", b.Variant, wantVariant)
			}
			if len(b.ImpressionID) != 36 || slices.Contains(seen, b.ImpressionID) {
				t.Fatalf("impression_id %q (seen %v)", b.ImpressionID, seen)
			}
			seen = append(seen, b.ImpressionID)
			// Buffered, not yet written: the request made no write.
			if _, ok := fx.impression(b.ImpressionID); ok {
				t.Errorf("impression written during the request")
			}
			fx.flush()
			row, ok := fx.impression(b.ImpressionID)
			if !ok {
				t.Fatal("impression not written by the flush")
			}
			if row.surface != tc.surface || row.experiment != expName || row.variant != wantVariant {
				t.Errorf("row %+v, want surface %s, variant %s", row, tc.surface, wantVariant)
			}
			if (row.user == nil) != (tc.user == "") || (row.user != nil && *row.user != tc.user) {
				t.Errorf("row user %v, want %q", row.user, tc.user)
			}
			if !slices.Equal(row.products, ids(b.hitsBody)) {
				t.Errorf("logged %v, served %v", row.products, ids(b.hitsBody))
			}
			if row.servedAt.Before(before.Add(-time.Second)) || row.servedAt.After(time.Now().Add(time.Second)) {
				t.Errorf("served_at %v, request at %v", row.servedAt, before)
			}
		})
	}
	if n := fx.count(`SELECT count(*) FROM impressions`); n != len(tests) {
		t.Errorf("%d impressions for %d lists served", n, len(tests))
	}
	// Suggestions are not lists of products: no impression.
	fx.get("/v1/suggest?q=mil&user_id="+treated, fx.read)
	fx.flush()
	if n := fx.count(`SELECT count(*) FROM impressions`); n != len(tests) {
		t.Errorf("suggest logged an impression (%d rows)", n)
	}
	met := string(fx.get("/metrics", "").body)
	for _, want := range []string{
		fmt.Sprintf("vitrine_impressions_logged_total %d", len(tests)),
		fmt.Sprintf("vitrine_impressions_written_total %d", len(tests)),
		`vitrine_impressions_dropped_total{reason="buffer_full"} 0`,
		"vitrine_impressions_buffered 0",
	} {
		if !strings.Contains(met, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// The variant's overrides change the request's parameters, and explicit
// request parameters still win.
func TestVariantChangesParameters(t *testing.T) {
	fx, exp := onlineFixture(t, nil)
	control, treated := userIn(t, exp, "control", "c"), userIn(t, exp, "treatment", "t")
	const q = "/v1/search?q=apple&k=10"
	list := func(path string) []string {
		var b servedBody
		fx.get(path, fx.read).json(t, &b)
		return ids(b.hitsBody)
	}
	hybrid, vectorOnly := list(q), list(q+"&lexical_weight=0")
	if slices.Equal(hybrid, vectorOnly) {
		t.Fatalf("the query does not tell the weights apart: %v", hybrid)
	}
	// The users have no history, so only the weights can differ.
	if got := list(q + "&user_id=" + control); !slices.Equal(got, hybrid) {
		t.Errorf("control searched %v, want the configured weights' %v", got, hybrid)
	}
	if got := list(q + "&user_id=" + treated); !slices.Equal(got, vectorOnly) {
		t.Errorf("treatment searched %v, want lexical_weight=0's %v", got, vectorOnly)
	}
	if got := list(q + "&user_id=" + treated + "&lexical_weight=" + fmt.Sprint(serving.DefaultConfig().LexicalWeight)); !slices.Equal(got, hybrid) {
		t.Errorf("an explicit lexical_weight did not beat the variant: %v", got)
	}

	// Recommendations: the treatment's default mmr_lambda is 0.1.
	now := time.Now().UTC()
	var evs []any
	for i, p := range []string{"grocery-41-arla-standard-milk", "grocery-38-arla-ecological-medium-fat-milk", "grocery-06-banana"} {
		evs = append(evs, event(fmt.Sprintf("m%d", i), treated, p, "purchase", now.Add(time.Duration(i-5)*time.Minute)))
	}
	if r := fx.post("/v1/events", fx.write, map[string]any{"events": evs}); r.status != 200 {
		t.Fatalf("events: %d %s", r.status, r.body)
	}
	rec := "/v1/users/" + treated + "/recommendations?k=6"
	byDefault, diverse, relevance := list(rec), list(rec+"&mmr_lambda=0.1"), list(rec+"&mmr_lambda=1")
	if slices.Equal(diverse, relevance) {
		t.Fatalf("mmr_lambda does not change this user's list: %v", relevance)
	}
	if !slices.Equal(byDefault, diverse) {
		t.Errorf("treatment recommendations %v, want mmr_lambda=0.1's %v (relevance order: %v)", byDefault, diverse, relevance)
	}
}

// uuidV7 builds a UUIDv7 minted at the given time.
func uuidV7(at time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(at.UnixMilli())<<16)
	b[6], b[8] = 0x70, 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func TestImpressionIDInEvents(t *testing.T) {
	fx, _ := onlineFixture(t, nil)
	const user, other = "attrib-1", "attrib-2"
	var b servedBody
	fx.get("/v1/search?q=banana&k=3&user_id="+user, fx.read).json(t, &b)
	if b.ImpressionID == "" || len(b.Results) != 3 {
		t.Fatalf("search: %+v", b)
	}
	shown := b.Results[0].ID
	now := time.Now().UTC()
	click := func(id, u, imp string) map[string]any {
		e := event(id, u, shown, "click", now)
		if imp != "" {
			e["impression_id"] = imp
		}
		return e
	}
	type result struct {
		Results []struct{ ClientEventID, Status, Error string } `json:"results"`
	}
	// The impression is still buffered: the event finds it there.
	var res result
	r := fx.post("/v1/events", fx.write, map[string]any{"events": []any{click("c1", user, strings.ToUpper(b.ImpressionID))}})
	r.json(t, &res)
	if r.status != 200 || res.Results[0].Status != "accepted" {
		t.Fatalf("event with a buffered impression id: %d %s", r.status, r.body)
	}
	fx.flush()
	var stored string
	if err := fx.db.QueryRow(t.Context(), `SELECT impression_id::text FROM events WHERE client_event_id = 'c1'`).Scan(&stored); err != nil || stored != b.ImpressionID {
		t.Errorf("event stored impression %q (%v), want %s", stored, err, b.ImpressionID)
	}
	// Written now: found in the database.
	fx.post("/v1/events", fx.write, map[string]any{"events": []any{click("c2", user, b.ImpressionID)}}).json(t, &res)
	if res.Results[0].Status != "accepted" {
		t.Errorf("event with a written impression id: %+v", res)
	}
	// Anonymous lists may be claimed by any user.
	var anon servedBody
	fx.get("/v1/search?q=banana&k=3", fx.read).json(t, &anon)
	fx.post("/v1/events", fx.write, map[string]any{"events": []any{click("c3", other, anon.ImpressionID)}}).json(t, &res)
	if res.Results[0].Status != "accepted" {
		t.Errorf("event on an anonymous list: %+v", res)
	}
	// Another server's impression, minted a moment ago, may not be written
	// yet: accepted. An old or non-v7 unknown id is not.
	fx.post("/v1/events", fx.write, map[string]any{"events": []any{click("c4", user, uuidV7(time.Now().Add(-5*time.Second)))}}).json(t, &res)
	if res.Results[0].Status != "accepted" {
		t.Errorf("recent unknown UUIDv7: %+v", res)
	}

	bad := []struct {
		name, user, imp, reason string
	}{
		{"malformed", user, "not-a-uuid", "must be a UUID"},
		{"unknown", user, "3f2504e0-4f89-41d3-9a0c-0305e82c3301", "unknown impression"},
		{"unknown and old", user, uuidV7(time.Now().Add(-time.Hour)), "unknown impression"},
		{"another user's", other, b.ImpressionID, "another user"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			r := fx.post("/v1/events", fx.write, map[string]any{"events": []any{click("bad-"+tc.name, tc.user, tc.imp)}})
			if r.status != 422 {
				t.Fatalf("%d %s", r.status, r.body)
			}
			var p struct {
				Errors []struct{ Field, Reason string }
			}
			r.json(t, &p)
			if len(p.Errors) != 1 || p.Errors[0].Field != "events[0].impression_id" || !strings.Contains(p.Errors[0].Reason, tc.reason) {
				t.Errorf("problem %s, want events[0].impression_id: …%s", r.body, tc.reason)
			}
		})
	}
	// In a batch, the bad event alone is rejected.
	r = fx.post("/v1/events", fx.write, map[string]any{"events": []any{click("ok-5", user, b.ImpressionID), click("bad-6", other, b.ImpressionID)}})
	r.json(t, &res)
	if r.status != 200 || res.Results[0].Status != "accepted" || res.Results[1].Status != "rejected" || !strings.Contains(res.Results[1].Error, "impression_id") {
		t.Errorf("mixed batch: %d %s", r.status, r.body)
	}
	if n := fx.count(`SELECT count(*) FROM events WHERE client_event_id LIKE 'bad-%'`); n != 0 {
		t.Errorf("%d rejected events stored", n)
	}

	// Exact and window attribution, end to end: the list was clicked
	// (exactly), and a purchase of a shown product without impression_id
	// counts for it too.
	buy := event("p1", user, b.Results[1].ID, "purchase", now.Add(time.Minute))
	fx.post("/v1/events", fx.write, map[string]any{"events": []any{buy}})
	fx.flush()
	rows, err := fx.st.OnlineMetrics(t.Context(), records.OnlineQuery{Since: now.Add(-time.Hour), Until: time.Now().Add(time.Minute),
		Experiment: expName, Surface: records.SurfaceSearch, ClickWindow: 30 * time.Minute, ConversionWindow: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]records.OnlineCount{}
	for _, r := range rows {
		if r.Surface != "" {
			got[r.Variant] = r
		}
	}
	// attrib-1's list (variant by hash) clicked and bought; the anonymous
	// list is left out of the comparison.
	v := ""
	for name, c := range got {
		if c.Lists > 0 {
			v = name
		}
	}
	if c := got[v]; c.Lists != 1 || c.Clicked != 1 || c.Converted != 1 {
		t.Errorf("online counts %+v", got)
	}
}

// Erasing a user removes their impressions, written or still buffered,
// and the user row a buffered impression would have created.
func TestForgetRemovesImpressions(t *testing.T) {
	fx, _ := onlineFixture(t, nil)
	// Only browsed similar products: known only to the buffer.
	const browser = "browser-1"
	var b servedBody
	fx.get("/v1/products/grocery-06-banana/similar?k=3&user_id="+browser, fx.read).json(t, &b)
	if b.ImpressionID == "" {
		t.Fatal("no impression id")
	}
	if n := fx.count(`SELECT count(*) FROM users WHERE id = $1`, browser); n != 0 {
		t.Fatalf("serving wrote the user row at once (%d)", n)
	}
	if r := fx.do("DELETE", "/v1/users/"+browser, fx.write, "", nil); r.status != 204 {
		t.Errorf("erasing a user known only to the buffer: %d %s", r.status, r.body)
	}
	fx.flush()
	if n := fx.count(`SELECT count(*) FROM impressions WHERE user_id = $1`, browser) + fx.count(`SELECT count(*) FROM users WHERE id = $1`, browser); n != 0 {
		t.Errorf("%d rows of the erased browser were written after erasure", n)
	}
	if r := fx.do("DELETE", "/v1/users/"+browser, fx.write, "", nil); r.status != 404 {
		t.Errorf("second erasure: %d", r.status)
	}

	// A searcher: written impressions, buffered ones and logged queries.
	const searcher = "searcher-1"
	fx.get("/v1/search?q=milk&user_id="+searcher, fx.read)
	fx.flush()
	fx.get("/v1/search?q=juice&user_id="+searcher, fx.read)
	fx.get("/v1/users/"+searcher+"/recommendations", fx.read)
	if n := fx.count(`SELECT count(*) FROM impressions WHERE user_id = $1`, searcher); n != 1 {
		t.Fatalf("%d written impressions before erasure, want 1", n)
	}
	if n := fx.count(`SELECT count(*) FROM queries WHERE user_id = $1`, searcher); n != 2 {
		t.Fatalf("%d logged queries before erasure, want 2", n)
	}
	// Someone else's buffered impression survives the erasure.
	fx.get("/v1/search?q=milk&user_id=bystander", fx.read)
	if r := fx.do("DELETE", "/v1/users/"+searcher, fx.write, "", nil); r.status != 204 {
		t.Fatalf("erase: %d %s", r.status, r.body)
	}
	fx.flush()
	for _, q := range []string{
		`SELECT count(*) FROM impressions WHERE user_id = $1`,
		`SELECT count(*) FROM queries WHERE user_id = $1`,
		`SELECT count(*) FROM users WHERE id = $1`,
	} {
		if n := fx.count(q, searcher); n != 0 {
			t.Errorf("%s: %d rows of the erased user", q, n)
		}
	}
	if n := fx.count(`SELECT count(*) FROM impressions WHERE user_id = 'bystander'`); n != 1 {
		t.Errorf("the bystander's impression: %d rows, want 1", n)
	}
}

// A full buffer drops impressions (counted) instead of blocking, and
// shutting the server down writes what it holds.
func TestImpressionBufferBoundsAndShutdown(t *testing.T) {
	fx, _ := onlineFixture(t, func(c *api.Config) { c.Impressions.Buffer = 2 })
	var got []string
	for range 3 {
		var b servedBody
		fx.get("/v1/search?q=milk&k=2&user_id=busy", fx.read).json(t, &b)
		got = append(got, b.ImpressionID)
	}
	if got[0] == "" || got[1] == "" || got[2] != "" {
		t.Errorf("impression ids %q: want the third dropped", got)
	}
	met := string(fx.get("/metrics", "").body)
	if !strings.Contains(met, `vitrine_impressions_dropped_total{reason="buffer_full"} 1`) || !strings.Contains(met, "vitrine_impressions_buffered 2") {
		t.Errorf("metrics do not count the drop:\n%s", grep(met, "vitrine_impressions"))
	}
	if err := fx.api.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := fx.count(`SELECT count(*) FROM impressions WHERE user_id = 'busy'`); n != 2 {
		t.Errorf("%d impressions written at shutdown, want 2", n)
	}
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// Too long a user id is refused before it can reach the log.
func TestLongUserIDRefused(t *testing.T) {
	fx, _ := onlineFixture(t, nil)
	long := strings.Repeat("u", 257)
	for _, tc := range []struct{ path, field string }{
		{"/v1/search?q=milk&user_id=" + long, "user_id"},
		{"/v1/products/grocery-06-banana/similar?user_id=" + long, "user_id"},
		{"/v1/users/" + long + "/recommendations", "id"},
	} {
		r := fx.get(tc.path, fx.read)
		if r.status != 422 || !strings.Contains(string(r.body), `"field":"`+tc.field+`"`) {
			t.Errorf("%s: %d %s", tc.path[:30], r.status, r.body)
		}
	}
}
