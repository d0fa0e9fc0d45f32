package web_test

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitrinehq/vitrine/api"
	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/store"
	"github.com/vitrinehq/vitrine/web"
)

func copyFile(t *testing.T, from, to string) []byte {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return b
}

func addProducts(t *testing.T, st *store.Store, images map[string][]string) {
	t.Helper()
	var ps []catalog.Product
	for id, uris := range images {
		p := catalog.Product{ID: id, Title: "Test " + id}
		for _, u := range uris {
			p.Media = append(p.Media, catalog.Media{Kind: catalog.MediaImage, URI: u})
		}
		if err := p.Validate(); err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	if _, err := st.UpsertProducts(t.Context(), ps); err != nil {
		t.Fatal(err)
	}
}

// TestMedia checks that /media serves catalog photos from under the media
// root only: lexical and symlink escapes, non-images and foreign hosts are
// refused, http(s) images are redirects.
func TestMedia(t *testing.T) {
	e := newEnv(t)
	demo := filepath.Join(e.root, "demo", "grocery", "images", "Red-Grapefruit.jpg")
	root := t.TempDir()
	outside := t.TempDir()
	photo := copyFile(t, demo, filepath.Join(root, "ok.jpg"))
	// A loopback image host: refused by default (an internal address),
	// reachable where the test allows 127.0.0.1.
	remote := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/p.jpg":
			_, _ = w.Write(photo)
		case "/redirect":
			http.Redirect(w, r, "http://[::1]:9/metrics", http.StatusFound)
		default:
			_, _ = w.Write([]byte("plain text, not an image"))
		}
	}))
	defer remote.Close()
	copyFile(t, demo, filepath.Join(outside, "img.jpg"))
	if err := os.WriteFile(filepath.Join(root, "notes.txt"), []byte("not an image"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "img.jpg"), filepath.Join(root, "link.jpg")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "ok.jpg"), filepath.Join(root, "inner.jpg")); err != nil {
		t.Fatal(err)
	}
	addProducts(t, e.st, map[string][]string{
		"m-ok":      {filepath.Join(root, "ok.jpg")},
		"m-file":    {"file://" + filepath.Join(root, "ok.jpg")},
		"m-inner":   {filepath.Join(root, "inner.jpg")},
		"m-text":    {filepath.Join(root, "notes.txt")},
		"m-link":    {filepath.Join(root, "link.jpg")},
		"m-dotdot":  {root + "/../" + filepath.Base(outside) + "/img.jpg"},
		"m-out":     {filepath.Join(outside, "img.jpg")},
		"m-etc":     {"/etc/passwd"},
		"m-host":    {"file://elsewhere" + filepath.Join(root, "ok.jpg")},
		"m-ftp":     {"ftp://example.com/p.jpg"},
		"m-http":    {remote.URL + "/p.jpg"},
		"m-redir":   {remote.URL + "/redirect"},
		"m-rtext":   {remote.URL + "/notes"},
		"m-missing": {filepath.Join(root, "none.jpg")},
		"m-two":     {remote.URL + "/p.jpg", filepath.Join(root, "ok.jpg")},
		"m-deleted": {filepath.Join(root, "ok.jpg")},
		// Relative paths are relative to the working directory (web/ here).
		"m-rel": {"../demo/grocery/images/Red-Grapefruit.jpg"},
	})
	if err := e.st.DeleteProduct(t.Context(), "m-deleted"); err != nil {
		t.Fatal(err)
	}
	inRoot := e.serve(t, func(c *api.Config) { c.MediaRoot = root })
	fetching := e.serve(t, func(c *api.Config) {
		c.MediaRoot, c.FetchAllow = root, []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	})
	repo := e.serve(t, nil)
	for _, tc := range []struct {
		name, url  string
		status     int
		location   string
		sameAsDemo bool
	}{
		{"local path", inRoot.URL + "/media/m-ok/0", 200, "", true},
		{"file URL", inRoot.URL + "/media/m-file/0", 200, "", true},
		{"link inside the root", inRoot.URL + "/media/m-inner/0", 200, "", true},
		{"second image", inRoot.URL + "/media/m-two/1", 200, "", true},
		{"http image on an internal address is refused", inRoot.URL + "/media/m-http/0", 404, "", false},
		{"first of two on an internal address", inRoot.URL + "/media/m-two/0", 404, "", false},
		{"allowed http image is served, not redirected", fetching.URL + "/media/m-http/0", 200, "", true},
		{"redirect to an internal address", fetching.URL + "/media/m-redir/0", 404, "", false},
		{"remote non-image", fetching.URL + "/media/m-rtext/0", 404, "", false},
		{"not an image", inRoot.URL + "/media/m-text/0", 403, "", false},
		{"link leading out", inRoot.URL + "/media/m-link/0", 403, "", false},
		{"dot-dot escape", inRoot.URL + "/media/m-dotdot/0", 403, "", false},
		{"absolute path outside", inRoot.URL + "/media/m-out/0", 403, "", false},
		{"system file", inRoot.URL + "/media/m-etc/0", 403, "", false},
		{"relative path outside this root", inRoot.URL + "/media/m-rel/0", 403, "", false},
		{"file URL on another host", inRoot.URL + "/media/m-host/0", 404, "", false},
		{"other scheme", inRoot.URL + "/media/m-ftp/0", 404, "", false},
		{"missing file", inRoot.URL + "/media/m-missing/0", 404, "", false},
		{"index past the end", inRoot.URL + "/media/m-ok/1", 404, "", false},
		{"negative index", inRoot.URL + "/media/m-ok/-1", 404, "", false},
		{"index not a number", inRoot.URL + "/media/m-ok/x", 404, "", false},
		{"unknown product", inRoot.URL + "/media/nope/0", 404, "", false},
		{"deleted product", inRoot.URL + "/media/m-deleted/0", 404, "", false},
		{"catalog photo under the module root", repo.URL + "/media/grocery-26-red-grapefruit/0", 200, "", true},
		{"relative path under the module root", repo.URL + "/media/m-rel/0", 200, "", true},
		{"temporary root is outside the module root", repo.URL + "/media/m-ok/0", 403, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := get(t, tc.url, "")
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.location != "" && r.header.Get("Location") != tc.location {
				t.Errorf("Location %q, want %q", r.header.Get("Location"), tc.location)
			}
			if tc.status >= 400 && !r.problemJSON() {
				t.Errorf("error with content type %q, want problem+json", r.header.Get("Content-Type"))
			}
			if tc.status >= 400 && bytes.Contains(r.body, []byte("root:")) {
				t.Errorf("error body leaks file content: %s", r.body)
			}
			if tc.sameAsDemo {
				if ct := r.header.Get("Content-Type"); ct != "image/jpeg" {
					t.Errorf("content type %q, want image/jpeg", ct)
				}
				if !bytes.Equal(r.body, photo) {
					t.Errorf("served %d bytes, not the photo (%d bytes)", len(r.body), len(photo))
				}
			}
		})
	}
}

// pngPlot is a small real PNG, as a bench plot would be.
func pngPlot(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 320, 160))
	for x := range 320 {
		for y := range 160 {
			c := color.RGBA{255, 255, 255, 255}
			if h := 20 + (x/40)*16; x%40 > 8 && y > 160-h {
				c = color.RGBA{11, 110, 79, 255}
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// writeReports fills a reports directory as `vitrine bench --json` and a
// plotting script would, plus files the page must not show.
func writeReports(t *testing.T) (dir string) {
	t.Helper()
	dir = t.TempDir()
	outside := t.TempDir()
	files := map[string][]byte{
		"bench-api.json": []byte(`{"products": 100000, "ingest_products_per_second": 2150.5, "results": [
			{"name": "search", "clients": 8, "requests": 41000, "errors": 0, "qps": 4100.2, "p50_ns": 1800000, "p95_ns": 3900000, "p99_ns": 6100000},
			{"name": "suggest", "clients": 8, "requests": 90000, "errors": 0, "qps": 9000.7, "p50_ns": 700000, "p95_ns": 1500000, "p99_ns": 2600000}]}`),
		"eval-search.json": []byte(`{"queries": 120, "ndcg_at_10": 0.71, "recall_at_10": 0.83, "mrr": 0.66}`),
		"broken.json":      []byte(`{"truncated": `),
		"notes.md":         []byte("# Eval notes\n\n| metric | value |\n|---|---|\n| nDCG@10 | **0.71** |\n\n- hybrid beats `lexical` alone\n"),
		"latency.png":      pngPlot(t),
		".hidden.json":     []byte(`{}`),
		"raw.csv":          []byte("a,b\n"),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(outside, "secret.png"), pngPlot(t), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "secret.png"), filepath.Join(dir, "escape.png")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestAdminEndpoints checks the admin overview and reports against the
// demo catalog, with keys required: admin scope only.
func TestAdminEndpoints(t *testing.T) {
	e := newEnv(t)
	reports := writeReports(t)
	ts := e.serve(t, func(c *api.Config) {
		c.Auth = api.AuthRequired
		c.ReportsDir = reports
	})
	_, read, err := e.st.CreateAPIKey(t.Context(), "reader", []records.Scope{records.ScopeRead})
	if err != nil {
		t.Fatal(err)
	}
	_, admin, err := e.st.CreateAPIKey(t.Context(), "admin", []records.Scope{records.ScopeAdmin})
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		path, key string
		status    int
		ctype     string
	}{
		// Pages and assets hold no data: no key needed.
		{"/", "", 200, "text/html"},
		{"/admin", "", 200, "text/html"},
		{"/static/store.js", "", 200, "text/javascript"},
		{"/static/style.css", "", 200, "text/css"},
		{"/static/../web.go", "", 404, ""},
		{"/ui/config.json", "", 200, "application/json"},
		// Data needs the right scope.
		{"/media/grocery-26-red-grapefruit/0", "", 401, ""},
		{"/media/grocery-26-red-grapefruit/0", read, 200, "image/jpeg"},
		{"/v1/admin/overview", "", 401, ""},
		{"/v1/admin/overview", read, 403, ""},
		{"/v1/admin/overview", admin, 200, "application/json"},
		{"/v1/admin/reports", read, 403, ""},
		{"/v1/admin/reports", admin, 200, "application/json"},
		{"/v1/admin/reports/latency.png", read, 403, ""},
		{"/v1/admin/reports/latency.png", admin, 200, "image/png"},
		{"/v1/admin/reports/escape.png", admin, 404, ""},
		{"/v1/admin/reports/..%2f..%2fetc%2fpasswd.png", admin, 404, ""},
		{"/v1/admin/reports/bench-api.json", admin, 404, ""},
		{"/v1/admin/reports/missing.png", admin, 404, ""},
	} {
		t.Run(strings.TrimPrefix(tc.path, "/")+"/"+map[string]string{"": "nokey", read: "read", admin: "admin"}[tc.key], func(t *testing.T) {
			r := get(t, ts.URL+tc.path, tc.key)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %.200s", r.status, tc.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); tc.ctype != "" && !strings.HasPrefix(ct, tc.ctype) {
				t.Errorf("content type %q, want %s", ct, tc.ctype)
			}
			if tc.status >= 400 && !r.problemJSON() {
				t.Errorf("error with content type %q, want problem+json", r.header.Get("Content-Type"))
			}
		})
	}

	var cfg struct{ Auth bool }
	get(t, ts.URL+"/ui/config.json", "").json(t, &cfg)
	if !cfg.Auth {
		t.Error("ui config says auth is off on a server that requires keys")
	}

	var o web.Overview
	get(t, ts.URL+"/v1/admin/overview", admin).json(t, &o)
	if o.Products != 81 || o.PendingJobs != 0 || len(o.Spaces) != 1 || o.ActiveSpace == nil {
		t.Fatalf("overview: %+v", o)
	}
	sp := o.Spaces[0]
	if sp.Version != *o.ActiveSpace || sp.State != records.SpaceActive || sp.Vectors != 81 || sp.Dim != 100+1280 || sp.Storage != records.StorageVector {
		t.Errorf("space: %+v", sp)
	}
	if !strings.Contains(string(sp.Fusion), `"weighted_concat"`) {
		t.Errorf("fusion spec %s", sp.Fusion)
	}

	var rep web.Reports
	get(t, ts.URL+"/v1/admin/reports", admin).json(t, &rep)
	names := func(fs []web.ReportFile) map[string]web.ReportFile {
		m := map[string]web.ReportFile{}
		for _, f := range fs {
			m[f.Name] = f
		}
		return m
	}
	js, md, imgs := names(rep.JSON), names(rep.Markdown), names(rep.Images)
	if len(js) != 3 || !strings.Contains(string(js["bench-api.json"].Data), `"qps"`) || js["eval-search.json"].Data == nil {
		t.Errorf("JSON reports: %+v", rep.JSON)
	}
	if js["broken.json"].Skipped != "not valid JSON" || js["broken.json"].Data != nil {
		t.Errorf("broken report: %+v", js["broken.json"])
	}
	if len(md) != 1 || !strings.Contains(md["notes.md"].Text, "nDCG") {
		t.Errorf("markdown reports: %+v", rep.Markdown)
	}
	if len(imgs) != 1 || imgs["latency.png"].URL != "/v1/admin/reports/latency.png" {
		t.Errorf("plots (the link leading out must not be listed): %+v", rep.Images)
	}
	if rep.DirMissing {
		t.Error("reports directory reported missing")
	}

	// No reports directory is a state to show, not an error.
	bare := e.serve(t, func(c *api.Config) { c.ReportsDir = filepath.Join(t.TempDir(), "none") })
	var none web.Reports
	r := get(t, bare.URL+"/v1/admin/reports", "")
	r.json(t, &none)
	if r.status != 200 || !none.DirMissing || len(none.JSON)+len(none.Images)+len(none.Markdown) != 0 {
		t.Errorf("missing reports directory: %d %+v", r.status, none)
	}
}
