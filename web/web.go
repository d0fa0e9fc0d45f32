// Package web serves Vitrine's storefront (/) and admin page (/admin): plain
// HTML, CSS and JavaScript embedded in the binary, so the demo works offline
// and needs no build step. The pages are clients of the REST API like any
// other; this package adds only what a browser needs and the API has no
// business holding: product photos from the catalog's local paths (/media),
// a read-only admin overview, and the latest eval and bench reports.
//
// Demo shoppers: the storefront offers alice, bob and carol. The first time
// the page shows one of them and the API still answers that shopper with
// popular items (no history), the page posts a few seeded events through
// POST /v1/events with fixed client_event_ids, so seeding is idempotent and
// needs no server-side code or script (see DEMO_USERS in static/store.js).
package web

import (
	"context"
	"embed"
	"io/fs"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/records"
)

//go:embed static
var staticFiles embed.FS

// Store is what the pages read: a product's media for /media, and the
// catalog's size, vector spaces and job queue for the admin overview.
type Store interface {
	GetProduct(ctx context.Context, id string) (catalog.Product, error)
	CountProducts(ctx context.Context) (int64, error)
	ListSpaces(ctx context.Context) ([]records.Space, error)
	PendingJobs(ctx context.Context, queue string) (int64, error)
}

// Deps are what the pages' server-side handlers use.
type Deps struct {
	Store Store
	// Auth says whether the API wants keys; the page then asks for one.
	Auth bool
	// Read guards product media and Admin the admin endpoints when auth is
	// on: the API's own key checks, so both pages obey the same keys. Nil
	// leaves a route open.
	Read, Admin echo.MiddlewareFunc
	// MediaRoot is the only directory tree local product images are served
	// from (default: the working directory, where `vitrine ingest` resolved
	// relative catalog paths).
	MediaRoot string
	// ReportsDir holds `vitrine eval` / `vitrine bench` JSON reports and
	// plots (default "reports").
	ReportsDir string
	// Benchmarks is the benchmark summary shown on the admin page (default
	// "BENCHMARKS.md").
	Benchmarks string
	// Fetch loads product images given as http(s) URLs, so /media serves
	// their bytes instead of redirecting a browser to whatever URL a
	// catalog row holds (an open redirect). It should refuse internal
	// addresses (api passes its SSRF-guarded loader). Nil: such images are
	// 404 here.
	Fetch  Fetcher
	Logger *slog.Logger
}

// Fetcher loads the bytes of a remote media URL.
type Fetcher interface {
	Load(ctx context.Context, ref string) ([]byte, error)
}

// handlers holds Deps with defaults applied.
type handlers struct {
	d Deps
}

// Register adds the pages, their assets and their endpoints to e. Pages and
// assets carry no data, so they are served without a key; media and admin
// data go through Deps.Read and Deps.Admin.
func Register(e *echo.Echo, d Deps) {
	if d.ReportsDir == "" {
		d.ReportsDir = "reports"
	}
	if d.Benchmarks == "" {
		d.Benchmarks = "BENCHMARKS.md"
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	h := &handlers{d: d}
	sub, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	e.GET("/", page(sub, "index.html"))
	e.GET("/admin", page(sub, "admin.html"))
	e.GET("/static/*", assets(sub))
	e.GET("/ui/config.json", h.config)
	e.GET("/media/:id/:n", h.media, guard(d.Read)...)
	e.GET("/v1/admin/overview", h.overview, guard(d.Admin)...)
	e.GET("/v1/admin/reports", h.reports, guard(d.Admin)...)
	e.GET("/v1/admin/reports/:name", h.reportFile, guard(d.Admin)...)
}

func guard(m echo.MiddlewareFunc) []echo.MiddlewareFunc {
	if m == nil {
		return nil
	}
	return []echo.MiddlewareFunc{m}
}

// securityHeaders keep the pages to their own origin: everything they load
// is embedded here. Images are the exception: blob: shows photos fetched
// with a key and the uploaded query photo, and http(s) lets /media redirect
// to a catalog's remote photos.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' blob: http: https:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
}

func page(fsys fs.FS, name string) echo.HandlerFunc {
	return func(c echo.Context) error {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		securityHeaders(c.Response().Header())
		// Pages are tiny and change with the binary: always revalidate.
		c.Response().Header().Set("Cache-Control", "no-cache")
		return c.HTMLBlob(http.StatusOK, b)
	}
}

func assets(fsys fs.FS) echo.HandlerFunc {
	files := echo.StaticDirectoryHandler(fsys, false)
	return func(c echo.Context) error {
		securityHeaders(c.Response().Header())
		c.Response().Header().Set("Cache-Control", "no-cache")
		return files(c)
	}
}

// config tells the page whether to ask for an API key before calling the API.
func (h *handlers) config(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]any{"auth": h.d.Auth})
}
