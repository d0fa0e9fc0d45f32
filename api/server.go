// Package api serves Vitrine over REST with echo: products, ranking, hybrid
// search, search by photo, suggestions, similar products, events,
// recommendations and user erasure, with API-key auth, problem+json errors
// and Prometheus metrics. Handlers parse a request, call the use case in
// package serving (or the indexer, for ingestion) and render its result;
// they hold no ranking logic. Transport-side bookkeeping stays here: keys,
// rate limits, the impression log of served lists, metrics.
package api

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/indexer"
	"github.com/vitrinehq/vitrine/ingest"
	"github.com/vitrinehq/vitrine/internal/netguard"
	"github.com/vitrinehq/vitrine/models"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/serving"
	"github.com/vitrinehq/vitrine/store"
	"github.com/vitrinehq/vitrine/web"
)

//go:embed openapi.yaml
var openAPI []byte

// OpenAPI returns the API's OpenAPI 3 document.
func OpenAPI() []byte { return openAPI }

// AuthMode says whether requests need an API key.
type AuthMode string

// Auth modes: required always checks keys; off serves everyone (local demo
// only); auto is off on a loopback listener and required otherwise.
const (
	AuthRequired AuthMode = "required"
	AuthOff      AuthMode = "off"
	AuthAuto     AuthMode = "auto"
)

// Config tunes the server.
type Config struct {
	Listen       string
	Auth         AuthMode
	RateLimit    float64 // requests per second per key (or client IP without auth); 0 = unlimited
	RateBurst    int
	BodyLimit    string // echo size, e.g. "12M"
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	// MediaRoot and ReportsDir are for the web pages (see web.Deps).
	MediaRoot  string
	ReportsDir string
	// Impressions configures the log of served lists.
	Impressions ImpressionsConfig
	// QueryRetention: logged search queries older than this are deleted
	// hourly (0 keeps them).
	QueryRetention time.Duration
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client; with none, the client is the connection's peer and
	// forwarding headers are ignored (rate limits cannot be dodged by
	// spoofing them).
	TrustedProxies []netip.Prefix
	// FetchAllow lets photo URLs reach these internal prefixes (a media
	// host on the shop's network); every other loopback, private,
	// link-local or metadata address is refused (package netguard).
	FetchAllow []netip.Prefix
	// MaxUploads bounds the photo searches decoding at once (default: the
	// number of cores); UploadQueue is how long one waits for a slot
	// before a 503 with Retry-After (default 2 s).
	MaxUploads  int
	UploadQueue time.Duration
	// AuthFailures per second (burst AuthFailureBurst) a client may get
	// wrong before further key checks from it are refused with 429
	// without touching the database (defaults 1 and 10).
	AuthFailures     float64
	AuthFailureBurst int
}

// DefaultConfig is what `vitrine serve` uses unless configured.
func DefaultConfig() Config {
	return Config{
		Listen: "127.0.0.1:8080", Auth: AuthAuto, RateLimit: 50, RateBurst: 100, BodyLimit: "12M",
		ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second,
		Impressions: DefaultImpressions(), QueryRetention: 90 * 24 * time.Hour,
		MaxUploads: runtime.NumCPU(), UploadQueue: 2 * time.Second, AuthFailures: 1, AuthFailureBurst: 10,
	}
}

// Deps are the parts the server uses.
type Deps struct {
	// Service runs the use cases (search, rank, recommendations, ...) with
	// its ranking configuration and A/B experiment. nil builds one over
	// Store and Encoders with serving.DefaultConfig() (for tests and
	// embedding; `vitrine serve` passes its own).
	Service *serving.Service
	// Store serves API keys, ingestion, impressions and the web pages.
	Store    *store.Store
	Encoders *extractors.Set
	Indexer  *indexer.Indexer
	Media    indexer.MediaLoader
	Registry *prometheus.Registry
	Logger   *slog.Logger
	// Transcriber hears spoken queries for POST /v1/search/voice (nil:
	// voice search answers 501).
	Transcriber serving.Transcriber
}

// Server is the HTTP API.
type Server struct {
	cfg  Config
	deps Deps
	echo *echo.Echo
	log  *slog.Logger
	auth bool
	svc  *serving.Service
	m    *metrics
	imps *impressionLog // nil when impressions are off
	// fetch loads photo URLs through the SSRF guard.
	fetch *ingest.MediaLoader
	// uploads holds one token per photo search decoding now.
	uploads chan struct{}
	// guard screens photo uploads before they queue for a slot.
	guard *uploadGuard

	limiters sync.Map // key -> *rate.Limiter
}

// New builds the server; it listens only when Start is called.
func New(cfg Config, d Deps) (*Server, error) {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
	}
	s := &Server{cfg: cfg, deps: d, log: d.Logger, m: newMetrics(d.Registry), svc: d.Service}
	if s.svc == nil {
		var err error
		if s.svc, err = DefaultService(d.Store, d.Encoders, d.Logger); err != nil {
			return nil, err
		}
	}
	switch cfg.Auth {
	case AuthRequired:
		s.auth = true
	case AuthOff:
		s.auth = false
	case AuthAuto, "":
		s.auth = !isLoopback(cfg.Listen)
	default:
		return nil, fmt.Errorf("api: auth %q is not required, off or auto", cfg.Auth)
	}
	if !s.auth && !isLoopback(cfg.Listen) {
		s.log.Warn("API keys are OFF on a non-loopback listener: anyone who reaches it can write", "listen", cfg.Listen)
	}
	if cfg.MaxUploads <= 0 {
		cfg.MaxUploads = runtime.NumCPU()
	}
	if cfg.AuthFailures <= 0 {
		cfg.AuthFailures, cfg.AuthFailureBurst = 1, max(cfg.AuthFailureBurst, 10)
	}
	s.cfg = cfg
	s.uploads = make(chan struct{}, cfg.MaxUploads)
	var err error
	if s.guard, err = s.newUploadGuard(); err != nil {
		return nil, err
	}
	s.fetch = ingest.NewMediaLoader(ingest.WithHTTPClient(netguard.New(netguard.WithAllow(cfg.FetchAllow...)).Client()),
		ingest.WithMaxMediaBytes(20<<20))
	s.echo = s.routes()
	if cfg.Impressions.Enabled {
		s.imps = newImpressionLog(d.Store, cfg.Impressions, d.Registry, s.log)
	}
	return s, nil
}

// AuthEnabled reports whether requests need a key.
func (s *Server) AuthEnabled() bool { return s.auth }

// Handler is the HTTP handler (for tests and embedding).
func (s *Server) Handler() http.Handler { return s.echo }

// ipExtractor takes the client address from X-Forwarded-For only when the
// request comes through one of the trusted proxies, and otherwise from the
// connection itself.
func ipExtractor(trusted []netip.Prefix) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range trusted {
		opts = append(opts, echo.TrustIPRange(&net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

func isLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (s *Server) routes() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.errorHandler
	e.IPExtractor = ipExtractor(s.cfg.TrustedProxies)
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisableStackAll: true, DisablePrintStack: true}))
	e.Use(middleware.RequestID())
	e.Use(s.observe)
	e.Use(middleware.BodyLimit(s.cfg.BodyLimit))

	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", echo.WrapHandler(s.m.handler(s.deps.Registry)))
	e.GET("/openapi.yaml", func(c echo.Context) error { return c.Blob(http.StatusOK, "application/yaml", openAPI) })

	read := e.Group("/v1", s.authenticate(records.ScopeRead), s.rateLimit, s.checkInput)
	write := e.Group("/v1", s.authenticate(records.ScopeWrite), s.rateLimit, s.checkInput)
	write.POST("/products", s.upsertProducts)
	read.GET("/products/:id", s.getProduct)
	write.DELETE("/products/:id", s.deleteProduct)
	read.GET("/products/:id/similar", s.similar)
	read.GET("/products/:id/together", s.together)
	read.POST("/rank", s.rank)
	read.GET("/search", s.search)
	read.POST("/search/image", s.searchImage, s.screenUpload)
	read.POST("/search/voice", s.searchVoice)
	read.GET("/suggest", s.suggest)
	write.POST("/events", s.events)
	read.GET("/users/:id/recommendations", s.recommendations)
	read.GET("/trending", s.trending)
	write.DELETE("/users/:id", s.deleteUser)
	web.Register(e, web.Deps{Store: s.deps.Store, Auth: s.auth,
		Read: s.authenticate(records.ScopeRead), Admin: s.authenticate(records.ScopeAdmin),
		MediaRoot: s.cfg.MediaRoot, ReportsDir: s.cfg.ReportsDir, Fetch: s.fetch, Logger: s.log})
	return e
}

// Start listens and serves until ctx ends, then shuts down gracefully:
// in-flight requests finish (up to 30 s), then buffered impressions are
// written.
func (s *Server) Start(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.echo,
		ReadTimeout:       s.cfg.ReadTimeout,
		ReadHeaderTimeout: 10 * time.Second,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       2 * time.Minute,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	hkCtx, stopHousekeeping := context.WithCancel(ctx)
	defer stopHousekeeping()
	go s.housekeeping(hkCtx)
	go s.returnMemory(hkCtx, 250*time.Millisecond, 2*time.Second)
	select {
	case err := <-errc:
		flushCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = s.Close(flushCtx)
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	flushCtx, cancelFlush := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancelFlush()
	if cerr := s.Close(flushCtx); cerr != nil {
		s.log.Error("impression log: final write failed", "err", cerr)
	}
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// DefaultService builds the use-case layer over a store and the loaded
// encoders (the text model is required, the image model optional) with
// serving.DefaultConfig() and no experiment.
func DefaultService(st *store.Store, set *extractors.Set, log *slog.Logger, opts ...serving.Option) (*serving.Service, error) {
	if st == nil || set == nil {
		return nil, errors.New("api: a store and encoders are required")
	}
	text, ok := set.ByModality(models.Text)
	if !ok {
		return nil, errors.New("api: a text model is required for search")
	}
	var image serving.Encoder
	if e, ok := set.ByModality(models.Image); ok {
		image = e
	}
	return serving.New(serving.DepsFrom(st, text, image), append([]serving.Option{serving.WithLogger(log)}, opts...)...)
}

// limiter returns the token bucket of a key (a client, an API key, a
// client's failed key checks), made with this rate and burst on first use.
func (s *Server) limiter(key string, perSecond float64, burst int) *rate.Limiter {
	if l, ok := s.limiters.Load(key); ok {
		return l.(*rate.Limiter)
	}
	l, _ := s.limiters.LoadOrStore(key, rate.NewLimiter(rate.Limit(perSecond), burst))
	return l.(*rate.Limiter)
}

// sweepLimiters forgets the limiters that are full again: they hold no
// state a fresh one would not, and without this a server open to the
// internet keeps one per client IP it has ever seen. It returns how many
// remain.
func (s *Server) sweepLimiters(now time.Time) int {
	left := 0
	s.limiters.Range(func(k, v any) bool {
		if l := v.(*rate.Limiter); l.TokensAt(now) >= float64(l.Burst()) {
			s.limiters.Delete(k)
		} else {
			left++
		}
		return true
	})
	return left
}

// housekeeping sweeps the rate limiters every minute and prunes the query
// log and erasure tombstones hourly (the first prune a minute after start).
func (s *Server) housekeeping(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	var lastPrune time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.sweepLimiters(now)
			if now.Sub(lastPrune) >= time.Hour {
				lastPrune = now
				s.prune(ctx, now)
			}
		}
	}
}

// returnMemory hands the heap a burst of photo uploads grew back to the
// operating system once the burst has drained: when every upload slot has
// been free for idle (polled every poll), it forces a collection and
// releases the freed pages. Without it, the runtime keeps them until its
// own scavenger gets round to it (minutes), so the resident size stays
// at the peak of the burst.
func (s *Server) returnMemory(ctx context.Context, poll, idle time.Duration) {
	t := time.NewTicker(poll)
	defer t.Stop()
	var pending bool // uploads ran since the last release
	var idleSince time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			switch {
			case len(s.uploads) > 0:
				pending, idleSince = true, time.Time{}
			case !pending:
			case idleSince.IsZero():
				idleSince = now
			case now.Sub(idleSince) >= idle:
				pending = false
				debug.FreeOSMemory()
				s.log.Debug("photo uploads drained: freed memory returned to the system")
			}
		}
	}
}

// prune deletes logged queries older than QueryRetention and erasure
// tombstones past their day.
func (s *Server) prune(ctx context.Context, now time.Time) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	if s.cfg.QueryRetention > 0 {
		n, err := s.deps.Store.PruneQueries(ctx, now.Add(-s.cfg.QueryRetention))
		if err != nil {
			s.log.Warn("query log: pruning failed", "err", err)
		} else if n > 0 {
			s.log.Info("query log: pruned old queries", "deleted", n, "retention", s.cfg.QueryRetention)
		}
	}
	if _, err := s.deps.Store.PruneTombstones(ctx, now); err != nil {
		s.log.Warn("erasure tombstones: pruning failed", "err", err)
	}
}

func (s *Server) rateLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.cfg.RateLimit <= 0 {
			return next(c)
		}
		key := c.RealIP()
		if k, ok := c.Get(ctxKey).(records.APIKey); ok {
			key = "key:" + k.ID
		}
		if !s.limiter(key, s.cfg.RateLimit, s.cfg.RateBurst).Allow() {
			c.Response().Header().Set("Retry-After", "1")
			return problem(http.StatusTooManyRequests, "rate limit exceeded", fmt.Sprintf("more than %.0f requests per second", s.cfg.RateLimit))
		}
		return next(c)
	}
}

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz says whether the server can serve. Anonymous callers get only
// "ok" or "unavailable" per check; the reasons (which name sockets,
// database users and the like) go to the log, and to a caller with an
// admin key as "<check>_reason" (keys are checked only where auth is on,
// and cannot be while the database is down).
func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{"database": "ok", "models": "ok", "vector_space": "ok"}
	reasons := map[string]string{}
	status := http.StatusOK
	fail := func(name string, err error) {
		checks[name], status = "unavailable", http.StatusServiceUnavailable
		reasons[name+"_reason"] = err.Error()
		s.log.Warn("readiness check failed", "check", name, "err", err)
	}
	if err := s.deps.Store.Ping(ctx); err != nil {
		fail("database", err)
	}
	if len(s.deps.Encoders.Encoders()) == 0 {
		fail("models", errors.New("no model loaded"))
	}
	if _, _, err := s.svc.ActiveSpace(ctx); err != nil {
		fail("vector_space", err)
	}
	if len(reasons) > 0 && s.adminCaller(ctx, c) {
		maps.Copy(checks, reasons)
	}
	if status != http.StatusOK {
		c.Response().Header().Set("Retry-After", "5")
	}
	return c.JSON(status, checks)
}

// adminCaller reports whether the request carries a live admin key, for
// endpoints that answer everyone but tell an operator more. A wrong key
// counts against the client's failed-check limit as on /v1.
func (s *Server) adminCaller(ctx context.Context, c echo.Context) bool {
	token := c.Request().Header.Get("X-API-Key")
	if h := c.Request().Header.Get(echo.HeaderAuthorization); token == "" && h != "" {
		token, _ = strings.CutPrefix(h, "Bearer ")
	}
	if !s.auth || token == "" {
		return false
	}
	failures := s.limiter("authfail:"+c.RealIP(), s.cfg.AuthFailures, s.cfg.AuthFailureBurst)
	if failures.Tokens() < 1 {
		return false
	}
	k, err := s.deps.Store.AuthenticateAPIKey(ctx, token)
	if errors.Is(err, records.ErrNotFound) || errors.Is(err, records.ErrRevoked) {
		failures.Allow()
	}
	return err == nil && k.Allows(records.ScopeAdmin)
}
