package serving

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"math"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/records"
)

// cfCache holds what recommendations and similar products cache in a
// process: the active collaborative-filtering model row read last, keyed
// by its version (its params and Gram matrix are read and parsed once per
// trained model, not once per request), and retrieved candidates (below).
// Every request still reads the active version from the database
// (recommendations with the user's factors in Events.RecUser, their one
// first read; similar products and bought-together by
// Factors.ActiveCFVersion), so every process serves a newly activated
// model from its next request.
type cfCache struct {
	mu sync.Mutex
	m  records.CFModel
	ok bool

	cands  candidateCache
	flight singleflight.Group // retrievals running, by key and digest
	pop    popularCache
	// ttl is the retrieval cache's TTL (WithRetrievalTTL).
	ttl time.Duration
	// lists configures the content leg's lists (recommend_content.go).
	lists contentLists
}

// cachedCF returns the model read last, if any. Callers must not modify
// its Params or Gram.
func (s *Service) cachedCF() (records.CFModel, bool) {
	s.cf.mu.Lock()
	defer s.cf.mu.Unlock()
	return s.cf.m, s.cf.ok
}

// activeCF returns the active model when its version is version, from the
// cache when it holds that version, else read (and cached).
func (s *Service) activeCF(ctx context.Context, version int) (records.CFModel, error) {
	if m, ok := s.cachedCF(); ok && m.Version == version {
		return m, nil
	}
	m, err := s.d.Factors.ActiveCFModel(ctx)
	if err != nil {
		return m, err
	}
	s.cf.mu.Lock()
	defer s.cf.mu.Unlock()
	s.cf.m, s.cf.ok = m, true
	return m, nil
}

// currentCF returns the active model (records.ErrNoCFModel when none is
// trained), reading its version and, when the cache holds another, the
// row.
func (s *Service) currentCF(ctx context.Context) (records.CFModel, error) {
	v, err := s.d.Factors.ActiveCFVersion(ctx)
	if err != nil {
		return records.CFModel{}, err
	}
	return s.activeCF(ctx, v)
}

// DefaultRetrievalTTL is how long retrieved candidates are reused unless
// WithRetrievalTTL says otherwise (recommend.cache_ttl), and so how late a
// product written since can join them: a new or changed product enters a
// user's recommendations, or a product's similar products, within this.
// Everything else a cached entry depends on is read by every request and
// is part of its digest (the model and space versions, the user's
// purchases, latest events, vector and factors, the product's vector and
// factors), so the user's own events, a new model or space are served
// from the next request by every process; a deleted product leaves at
// once (the candidates' products are read per request).
const DefaultRetrievalTTL = 30 * time.Second

// WithRetrievalTTL sets how long retrieved candidates are reused while
// their inputs are unchanged (recommend.cache_ttl); 0 retrieves afresh on
// every request, as a user's first request after each of their events
// does. A negative TTL is taken as 0.
func WithRetrievalTTL(d time.Duration) Option {
	return func(s *Service) { s.cf.ttl = max(d, 0) }
}

// maxCachedCandidates bounds the entries (users and products), about
// 3 KB each.
const maxCachedCandidates = 20000

// retrieval is what one retrieval found: a user's factor, content and
// item-based candidates (top, nn, chosen; uf the factors folded in from
// their events), or a product's similar candidates (ids).
type retrieval struct {
	uf     []float32
	top    []records.Scored
	nn     []records.Neighbor
	chosen map[string]map[string]float64
	reads  candidateReads // the factors and vectors of these candidates
	ids    []string
}

// candidateCache maps a user ("u" + id) or a product ("p" + id) to what
// was retrieved for them, with the digest of the inputs it was retrieved
// from and when.
type candidateCache struct {
	mu sync.Mutex
	m  map[string]candidateEntry
}

type candidateEntry struct {
	digest [sha256.Size]byte
	at     time.Time
	r      retrieval
}

// cachedRetrieval returns what was retrieved for key from inputs with this
// digest less than the retrieval TTL ago, from this process's cache or
// (a user's, sh not nil) the store, else runs fn, keeps its answer and
// stores it (with a TTL of 0 it always runs fn and keeps nothing). A
// retrieval found in the store is kept with the time it was made, so
// that a new product joins it as late as it would here. Callers must not
// modify what it returns.
func (s *Service) cachedRetrieval(ctx context.Context, key string, digest [sha256.Size]byte, sh *shared, fn func(context.Context) (retrieval, error)) (retrieval, error) {
	ttl := s.cf.ttl
	if ttl == 0 {
		return fn(ctx)
	}
	c := &s.cf.cands
	now := s.now()
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if ok && e.digest == digest && within(e.at, now, ttl) {
		if sh != nil && sh.now && !sh.fresh(digest, now, ttl) { // a refresh stores what it reuses
			s.share(ctx, sh, digest, e.at, e.r)
		}
		return e.r, nil
	}
	if sh != nil {
		r, ok, err := s.storedRetrieval(ctx, sh, digest, now, ttl)
		if err != nil {
			return r, err
		}
		if ok {
			c.keep(key, candidateEntry{digest: digest, at: sh.stored.At, r: r}, now, ttl)
			return r, nil
		}
	}
	return s.retrieveOnce(ctx, key, digest, sh, now, fn)
}

// retrieveOnce runs fn, keeps its answer and stores it (as retrieved at
// now, when the first caller asked), once for
// concurrent callers with the same key and digest (a page that posts an
// event and asks for recommendations at once meets the refresh the event
// started): the others wait for it. A caller whose own context is still
// live retrieves itself when the shared run failed (its caller's context
// ended).
func (s *Service) retrieveOnce(ctx context.Context, key string, digest [sha256.Size]byte, sh *shared, now time.Time, fn func(context.Context) (retrieval, error)) (retrieval, error) {
	run := func(ctx context.Context) (retrieval, error) {
		r, err := fn(ctx)
		if err != nil {
			return r, err
		}
		s.cf.cands.keep(key, candidateEntry{digest: digest, at: now, r: r}, now, s.cf.ttl)
		if sh != nil {
			s.share(ctx, sh, digest, now, r)
		}
		return r, nil
	}
	v, err, joined := s.cf.flight.Do(key+"\x00"+string(digest[:]), func() (any, error) { return run(ctx) })
	if err != nil && joined && ctx.Err() == nil {
		return run(ctx)
	}
	if err != nil {
		return retrieval{}, err
	}
	return v.(retrieval), nil
}

// keep caches e under key.
func (c *candidateCache) keep(key string, e candidateEntry, now time.Time, ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedCandidates {
		c.evict(now, ttl)
	}
	c.m[key] = e
}

// evict drops expired entries, and every entry when that leaves the cache
// full (callers hold mu).
func (c *candidateCache) evict(now time.Time, ttl time.Duration) {
	for k, e := range c.m {
		if !within(e.at, now, ttl) {
			delete(c.m, k)
		}
	}
	if c.m == nil || len(c.m) >= maxCachedCandidates {
		c.m = make(map[string]candidateEntry)
	}
}

// within reports whether now lies in [at, at+ttl): something made at is
// still fresh (a clock that went back makes it stale).
func within(at, now time.Time, ttl time.Duration) bool {
	return !now.Before(at) && now.Sub(at) < ttl
}

// popularTTL: the popular products hybrid recommendations blend in are
// read at most this often per process (they move with every shopper's
// events; a second's lag is as invisible as the active space's).
const popularTTL = time.Second

// popularCache holds the popular products read last: the n best, read
// at.
type popularCache struct {
	mu  sync.Mutex
	n   int
	at  time.Time
	pop []records.Scored
}

// popularProducts returns the n most popular products, read less than
// popularTTL ago or now. Callers must not modify them.
func (s *Service) popularProducts(ctx context.Context, n int) ([]records.Scored, error) {
	c := &s.cf.pop
	now := s.now()
	c.mu.Lock()
	if c.n == n && c.pop != nil && within(c.at, now, popularTTL) {
		defer c.mu.Unlock()
		return c.pop, nil
	}
	c.mu.Unlock()
	pop, err := s.d.Events.PopularProducts(ctx, now, n)
	if err != nil {
		return nil, err
	}
	if pop == nil {
		pop = []records.Scored{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n, c.at, c.pop = n, now, pop
	return pop, nil
}

// digester hashes the inputs of a retrieval, each length-prefixed so
// that no two different inputs write the same bytes.
type digester struct{ h hash.Hash }

func newDigester() digester { return digester{h: sha256.New()} }

func (d digester) int(v int64) digester {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(v))
	d.h.Write(b[:])
	return d
}

func (d digester) str(s string) digester {
	d.int(int64(len(s)))
	d.h.Write([]byte(s))
	return d
}

func (d digester) strs(ss []string) digester {
	d.int(int64(len(ss)))
	for _, s := range ss {
		d.str(s)
	}
	return d
}

func (d digester) floats(v []float32) digester {
	d.int(int64(len(v)))
	for _, f := range v {
		d.int(int64(math.Float32bits(f)))
	}
	return d
}

func (d digester) events(evs []catalog.Event) digester {
	d.int(int64(len(evs)))
	for _, e := range evs {
		v := int64(-1) // no value: not a bit pattern math.Float64bits gives a rating
		if e.Value != nil {
			v = int64(math.Float64bits(*e.Value))
		}
		d.str(e.ProductID).str(string(e.Type)).int(v).int(e.OccurredAt.UnixNano())
	}
	return d
}

func (d digester) sum() [sha256.Size]byte {
	var out [sha256.Size]byte
	d.h.Sum(out[:0])
	return out
}
