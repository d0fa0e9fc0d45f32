// Package serving owns Vitrine's use cases: hybrid text search, search by
// photo, suggestions, ranking, similar products, recommendations (retrieval,
// blend, re-ranking, explanations), learning from events and forgetting a
// user. It orchestrates the pure packages (ranking, fusion, recommend,
// experiment) over small interfaces of its own for what it reads and writes
// (Catalog, Vectors, Factors, Events, Users, Text, Encoder), and returns
// plain results and typed errors (FieldError, ErrNoUserVector, ...).
//
// It knows nothing of HTTP or SQL: package api parses requests, calls a
// Service and renders what it returns, and `vitrine eval` and `vitrine
// bench` call the same Service, built the same way, so that what is
// measured is what is served.
package serving

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/experiment"
	"github.com/vitrinehq/vitrine/fusion"
	"github.com/vitrinehq/vitrine/records"
)

// Config holds the ranking parameters every request starts from (an A/B
// variant's overrides, then a request's own parameters, win over them).
type Config struct {
	// LexicalWeight and VectorWeight weigh the two lists of hybrid search.
	LexicalWeight, VectorWeight float64
	// PersonalWeight scales the user-affinity part of personalised search.
	PersonalWeight float64
	// HalfLife is how fast a user's older events fade from their vector.
	HalfLife time.Duration
	// CFWeight, ContentWeight and PopularityWeight blend the sources of
	// hybrid recommendations (each z-normalised per request).
	CFWeight, ContentWeight, PopularityWeight float64
	// MMRLambda is the default diversity of recommendations (1: none).
	MMRLambda float64
	// CandidatePool is how many products the lexical list of hybrid
	// search fetches (at least k).
	CandidatePool int
	// VectorPool is how many products the vector list of hybrid search
	// fetches (at least k), and VectorEf its HNSW ef_search (0: the
	// store's default).
	VectorPool, VectorEf int
	// Fusion says how hybrid search fuses its lexical and vector lists.
	Fusion SearchFusion
	// Experiment is the running A/B test (nil: none).
	Experiment *experiment.Experiment
}

// DefaultConfig is what `vitrine serve` uses unless configured.
func DefaultConfig() Config {
	return Config{LexicalWeight: 3, VectorWeight: 1, PersonalWeight: 0.2, HalfLife: 7 * 24 * time.Hour,
		CFWeight: 1, ContentWeight: 0.5, PopularityWeight: 0.2, MMRLambda: 1, CandidatePool: 20, VectorPool: 30, VectorEf: 80, Fusion: DefaultFusion()}
}

// Limits of requests.
const (
	// DefaultK is the list length when a request gives none.
	DefaultK = 10
	// MaxQueryLength bounds a search or rank query, in bytes.
	MaxQueryLength = 500
	// MaxCandidates bounds the candidate ids of one rank request.
	MaxCandidates = 1000
	// historyForWhy is how many recent events "because" explanations read.
	historyForWhy = 20
	// foldInEvents is how many recent events fold a new user into a model.
	foldInEvents = 200
	// spaceTTL: the active space changes only on activation, and every
	// process notices within this.
	spaceTTL = time.Second
)

// Option configures a Service.
type Option func(*Service)

// WithConfig sets the ranking parameters (default DefaultConfig()).
func WithConfig(c Config) Option { return func(s *Service) { s.cfg = c } }

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(s *Service) {
		if l != nil {
			s.log = l
		}
	}
}

// WithClock sets the clock recommendations' popularity and event checks
// read (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(s *Service) {
		if now != nil {
			s.now = now
		}
	}
}

// Service runs the use cases. It is safe for concurrent use.
type Service struct {
	d   Deps
	cfg Config
	log *slog.Logger
	now func() time.Time

	spaceMu sync.Mutex
	space   cachedSpace
	cf      cfCache    // the active CF model row (recommend_cache.go)
	bg      background // retrieval refreshes (recommend_shared.go)

	photo photoSearch // search by photo (photo.go)
}

type cachedSpace struct {
	sp      records.Space
	spec    fusion.Spec
	fetched time.Time
}

// New builds a Service. `vitrine serve`, `vitrine eval` and `vitrine bench`
// all build theirs with it.
func New(d Deps, opts ...Option) (*Service, error) {
	if d.Catalog == nil || d.Vectors == nil || d.Factors == nil || d.Neighbours == nil || d.Events == nil || d.Trending == nil ||
		d.Users == nil || d.Text == nil {
		return nil, errors.New("serving: every store dependency is required")
	}
	if d.TextEncoder == nil {
		return nil, errors.New("serving: a text model is required for search")
	}
	s := &Service{d: d, cfg: DefaultConfig(), log: slog.New(slog.DiscardHandler), now: time.Now,
		cf: cfCache{ttl: DefaultRetrievalTTL, lists: contentLists{seeds: DefaultContentSeeds, ttl: DefaultContentListsTTL}},
		bg: background{workers: DefaultRefreshWorkers, onActivate: DefaultRefreshOnActivate}}
	for _, o := range opts {
		o(s)
	}
	if s.cfg.CandidatePool <= 0 {
		s.cfg.CandidatePool = DefaultConfig().CandidatePool
	}
	if s.cfg.VectorPool <= 0 {
		s.cfg.VectorPool = DefaultConfig().VectorPool
	}
	if s.cfg.Fusion == (SearchFusion{}) {
		s.cfg.Fusion = DefaultFusion()
	}
	if err := s.cfg.Fusion.Check(); err != nil {
		return nil, err
	}
	return s, nil
}

// Config returns the service's configuration.
func (s *Service) Config() Config { return s.cfg }

// HasImageModel reports whether search by photo is possible.
func (s *Service) HasImageModel() bool { return s.d.ImageEncoder != nil }

// ActiveSpace returns the serving vector space and its fusion spec, cached
// for a second.
func (s *Service) ActiveSpace(ctx context.Context) (records.Space, fusion.Spec, error) {
	s.spaceMu.Lock()
	defer s.spaceMu.Unlock()
	if time.Since(s.space.fetched) < spaceTTL {
		return s.space.sp, s.space.spec, nil
	}
	sp, err := s.d.Vectors.ActiveSpace(ctx)
	if err != nil {
		return sp, fusion.Spec{}, err
	}
	// A space's spec never changes under its version, and a reduced one
	// carries its fitted projection (megabytes): parse it only when the
	// active version moves.
	spec := s.space.spec
	if sp.Version != s.space.sp.Version || s.space.fetched.IsZero() {
		if spec, err = fusion.ParseSpec(sp.Spec); err != nil {
			return sp, spec, err
		}
	}
	s.space = cachedSpace{sp: sp, spec: spec, fetched: time.Now()}
	return sp, spec, nil
}

// Product returns one product (records.ErrNotFound when unknown).
func (s *Service) Product(ctx context.Context, id string) (catalog.Product, error) {
	return s.d.Catalog.GetProduct(ctx, id)
}
