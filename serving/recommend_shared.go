package serving

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/gob"
	"fmt"
	"sync"
	"time"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/recommend"
	"github.com/vitrinehq/vitrine/records"
)

// A user's retrieval is also kept where every process reads it (the
// store's user_retrievals, read in the RecUser batch, so reading it costs
// no round trip), and refreshed in the background when the user's events
// arrive (AddEvents): a shopper's next request, in whichever process,
// finds the retrieval made from their new inputs instead of paying for
// it. A request whose inputs hash to another digest, or whose stored
// retrieval is older than the retrieval TTL, retrieves afresh and stores
// what it found. Nothing is stored or read with a TTL of 0.

// DefaultRefreshWorkers bounds the background work of a Service
// (refreshing users' retrievals after their events, storing retrievals
// made on the request path) unless WithRetrievalRefresh says otherwise.
// Work that finds every worker busy waits in a queue of at most
// maxQueuedRefreshes, and is dropped when that is full: the user's next
// request retrieves afresh, as it would without refreshes.
const DefaultRefreshWorkers = 2

// maxQueuedRefreshes bounds the background work waiting for a worker.
const maxQueuedRefreshes = 1024

// refreshTimeout bounds one background refresh or store.
const refreshTimeout = 10 * time.Second

// WithRetrievalRefresh sets how many background workers refresh users'
// retrievals after their events and store those made on the request path
// (default DefaultRefreshWorkers); 0 turns both off (requests still read
// the stored retrievals other processes keep).
func WithRetrievalRefresh(workers int) Option {
	return func(s *Service) { s.bg.workers, s.bg.set = max(workers, 0), true }
}

// background runs a Service's bounded background work.
type background struct {
	workers int
	set     bool // workers was configured (WithRetrievalRefresh)
	wg      sync.WaitGroup

	mu      sync.Mutex
	running int      // workers running
	queue   []func() // work waiting for a worker
	// pending are the users whose refresh is running; true: their events
	// arrived again meanwhile, so it runs once more.
	pending map[string]bool
}

// init sets the defaults on first use (callers hold mu).
func (b *background) init() {
	if b.pending == nil {
		b.pending = map[string]bool{}
		if !b.set {
			b.workers = DefaultRefreshWorkers
		}
	}
}

// start runs fn in the background: at once when a worker is free, else
// after the work queued before it. It reports false, dropping fn, when
// the queue is full (or workers is 0). A worker exits when it finds the
// queue empty, so an idle Service holds no goroutine.
func (b *background) start(fn func()) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.init()
	switch {
	case b.running < b.workers:
		b.running++
		b.wg.Add(1)
		go b.work(fn)
	case b.workers > 0 && len(b.queue) < maxQueuedRefreshes:
		b.queue = append(b.queue, fn)
	default:
		return false
	}
	return true
}

// work runs fn, then the queued work until none is left.
func (b *background) work(fn func()) {
	defer b.wg.Done()
	for fn != nil {
		fn()
		b.mu.Lock()
		fn = nil
		if len(b.queue) > 0 {
			fn, b.queue = b.queue[0], b.queue[1:]
		} else {
			b.running--
		}
		b.mu.Unlock()
	}
}

// WaitRefreshes waits for the background refreshes and stores running
// now (tests, and a server shutting down).
func (s *Service) WaitRefreshes() { s.bg.wg.Wait() }

// refreshAfterEvents refreshes, in the background, the retrieval of each
// user whose events were just recorded.
func (s *Service) refreshAfterEvents(evs []catalog.Event) {
	if s.retrievalTTL() == 0 {
		return
	}
	seen := map[string]bool{}
	for _, e := range evs {
		if !seen[e.UserID] {
			seen[e.UserID] = true
			s.refreshLater(e.UserID)
		}
	}
}

// refreshLater refreshes the user's retrieval in the background: once
// more after the queued or running one when there is one, not at all when
// the queue is full.
func (s *Service) refreshLater(uid string) {
	b := &s.bg
	b.mu.Lock()
	b.init()
	if _, queued := b.pending[uid]; queued {
		b.pending[uid] = true
		b.mu.Unlock()
		return
	}
	b.pending[uid] = false
	b.mu.Unlock()
	started := b.start(func() {
		for again := true; again; {
			ctx, cancel := context.WithTimeout(context.Background(), refreshTimeout)
			if err := s.refreshUser(ctx, uid); err != nil {
				s.log.Warn("refresh recommendation retrieval", "user", uid, "err", err)
			}
			cancel()
			b.mu.Lock()
			if again = b.pending[uid]; again {
				b.pending[uid] = false
			} else {
				delete(b.pending, uid)
			}
			b.mu.Unlock()
		}
	})
	if !started {
		b.mu.Lock()
		delete(b.pending, uid)
		b.mu.Unlock()
	}
}

// refreshUser retrieves for the user as their next default-length
// recommendation would (reusing a retrieval already made from the same
// inputs) and stores it where every process reads it.
func (s *Service) refreshUser(ctx context.Context, uid string) error {
	sp, _, err := s.ActiveSpace(ctx)
	if err != nil {
		return err
	}
	pool := recommend.ServingPool(DefaultK)
	u, err := s.readUser(ctx, uid, sp.Version, pool)
	if err != nil {
		return err
	}
	u.refresh = true
	if u.hasCF {
		q := hybridQuery{u: u, pool: pool, space: sp.Version, served: servedChoice(u.cf)}
		_, err = s.retrieveSources(ctx, &q)
		return err
	}
	if u.vector != nil {
		_, err = s.contentRetrieval(ctx, u, sp.Version, pool)
	}
	return err
}

// shared is a user's retrieval as kept in the store: what RecUser found
// stored, and whom to store a new one for (now, on a background refresh;
// else in the background).
type shared struct {
	user   string
	stored records.StoredRetrieval
	now    bool
}

// sharedOf is the user's stored retrieval, for cachedRetrieval.
func sharedOf(u recoUser) *shared {
	return &shared{user: u.id, stored: u.stored, now: u.refresh}
}

// fresh reports whether the stored retrieval was made from inputs with
// this digest less than ttl before now.
func (sh *shared) fresh(digest [sha256.Size]byte, now time.Time, ttl time.Duration) bool {
	st := sh.stored
	return bytes.Equal(st.Digest, digest[:]) && now.Sub(st.At) < ttl && !now.Before(st.At)
}

// retrieval decodes the stored retrieval when it is fresh (one that does
// not decode, written by another version, is not).
func (sh *shared) retrieval(digest [sha256.Size]byte, now time.Time, ttl time.Duration) (retrieval, bool) {
	if !sh.fresh(digest, now, ttl) {
		return retrieval{}, false
	}
	r, err := decodeRetrieval(sh.stored.Payload)
	return r, err == nil
}

// share stores what was retrieved for the user where every process reads
// it: at once on a background refresh, else in the background (dropped
// when the queue is full). A failure is logged: the store only spares
// later requests a retrieval.
func (s *Service) share(ctx context.Context, sh *shared, digest [sha256.Size]byte, at time.Time, r retrieval) {
	payload, err := encodeRetrieval(r)
	if err != nil {
		s.log.Warn("encode recommendation retrieval", "user", sh.user, "err", err)
		return
	}
	st := records.StoredRetrieval{Digest: digest[:], Payload: payload, At: at}
	save := func(ctx context.Context) {
		if err := s.d.Events.SaveUserRetrieval(ctx, sh.user, st); err != nil {
			s.log.Warn("store recommendation retrieval", "user", sh.user, "err", err)
		}
	}
	if sh.now {
		save(ctx)
		return
	}
	_ = s.bg.start(func() {
		ctx, cancel := context.WithTimeout(context.Background(), refreshTimeout)
		defer cancel()
		save(ctx)
	})
}

// storedForm is a retrieval as encoded in the store: every field of
// retrieval and of its candidate reads (the products as their brands and
// categories, all re-ranking reads of them).
type storedForm struct {
	UF         []float32
	Top        []records.Scored
	NN         []records.Neighbor
	Chosen     map[string]map[string]float64
	Read       []string
	Factors    map[string][]float32
	Vecs       map[string][]float32
	Live       []string
	Brands     map[string]string
	Categories map[string][]string
}

// encodeRetrieval encodes a user's retrieval losslessly (gob), so a
// request that reads it serves what the retrieving one would have.
func encodeRetrieval(r retrieval) ([]byte, error) {
	f := storedForm{UF: r.uf, Top: r.top, NN: r.nn, Chosen: r.chosen, Factors: r.reads.factors, Vecs: r.reads.vecs,
		Brands: map[string]string{}, Categories: map[string][]string{}}
	for id := range r.reads.read {
		f.Read = append(f.Read, id)
	}
	for id, p := range r.reads.products {
		f.Live = append(f.Live, id)
		if p.Brand != "" {
			f.Brands[id] = p.Brand
		}
		if p.Category != nil {
			f.Categories[id] = p.Category
		}
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(f); err != nil {
		return nil, fmt.Errorf("encode retrieval: %w", err)
	}
	return buf.Bytes(), nil
}

// decodeRetrieval decodes what encodeRetrieval encoded.
func decodeRetrieval(b []byte) (retrieval, error) {
	var f storedForm
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&f); err != nil {
		return retrieval{}, fmt.Errorf("decode retrieval: %w", err)
	}
	r := retrieval{uf: f.UF, top: f.Top, nn: f.NN, chosen: f.Chosen}
	if f.Read == nil {
		return r, nil
	}
	r.reads = candidateReads{read: make(map[string]bool, len(f.Read)), factors: f.Factors, vecs: f.Vecs,
		products: make(map[string]catalog.Product, len(f.Live))}
	if r.reads.factors == nil {
		r.reads.factors = map[string][]float32{}
	}
	if r.reads.vecs == nil {
		r.reads.vecs = map[string][]float32{}
	}
	for _, id := range f.Read {
		r.reads.read[id] = true
	}
	for _, id := range f.Live {
		r.reads.products[id] = catalog.Product{ID: id, Brand: f.Brands[id], Category: f.Categories[id]}
	}
	return r, nil
}
