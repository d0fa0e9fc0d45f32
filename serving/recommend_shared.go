package serving

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math"
	"sync"
	"time"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/recommend"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/vecmath"
)

// A user's retrieval is also kept where every process reads it (the
// store's user_retrievals: its digest read in the RecUser batch, its
// payload only when this process lacks it), and refreshed in the
// background when the events of a user who has one arrive (AddEvents): a
// shopper's next request, in whichever process, finds the retrieval made
// from their new inputs instead of paying for it. A request whose inputs
// hash to another digest, or whose stored retrieval is older than the
// retrieval TTL, retrieves afresh and stores what it found. No retrieval
// is stored or read with a TTL of 0 (the products' content-neighbour
// lists its content leg reads are kept apart, recommend_content.go).

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
	return func(s *Service) { s.bg.workers = max(workers, 0) }
}

// background runs a Service's bounded background work.
type background struct {
	workers int
	wg      sync.WaitGroup

	mu      sync.Mutex
	running int       // workers running
	queue   []func()  // work waiting for a worker
	pruned  time.Time // when stored retrievals were last pruned
	// pending are the users whose refresh is queued or running; true:
	// their events arrived again meanwhile, so it runs once more.
	pending map[string]bool
	// filling are the content-neighbour lists being computed
	// (recommend_content.go).
	filling map[listKey]bool
	// versions the requests last read, and how many users to refresh
	// when they move (recommend_activate.go).
	versions   activation
	onActivate int
}

// init makes the maps on first use (callers hold mu).
func (b *background) init() {
	if b.pending == nil {
		b.pending, b.filling = map[string]bool{}, map[listKey]bool{}
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
	if s.cf.ttl == 0 {
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
// inputs) and stores it where every process reads it. A user with no
// retrieval stored has not asked for recommendations (or not within the
// store's life): their events change nothing a request is waiting for,
// so nothing is retrieved (a bulk load of events retrieves for no one).
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
	if u.stored.Digest == nil {
		return nil
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
	return bytes.Equal(st.Digest, digest[:]) && within(st.At, now, ttl)
}

// storedRetrieval reads and decodes the user's stored retrieval when it
// is fresh (one that does not decode, written by another version, or
// replaced meanwhile, is not).
func (s *Service) storedRetrieval(ctx context.Context, sh *shared, digest [sha256.Size]byte, now time.Time, ttl time.Duration) (retrieval, bool, error) {
	if !sh.fresh(digest, now, ttl) {
		return retrieval{}, false, nil
	}
	p, err := s.d.Events.UserRetrievalPayload(ctx, sh.user, digest[:])
	if err != nil || p == nil {
		return retrieval{}, false, err
	}
	r, err := decodeRetrieval(p)
	return r, err == nil, nil
}

// share stores what was retrieved for the user where every process reads
// it: at once on a background refresh, else in the background (dropped
// when the queue is full). A failure is logged: the store only spares
// later requests a retrieval.
func (s *Service) share(ctx context.Context, sh *shared, digest [sha256.Size]byte, at time.Time, r retrieval) {
	st := records.StoredRetrieval{Digest: digest[:], Payload: encodeRetrieval(r), At: at}
	save := func(ctx context.Context) {
		if err := s.d.Events.SaveUserRetrieval(ctx, sh.user, st); err != nil {
			s.log.Warn("store recommendation retrieval", "user", sh.user, "err", err)
		}
		s.maybePrune(ctx)
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

// pruneEvery is how often a Service that stores retrievals empties the
// stored payloads older than its retrieval TTL (PruneUserRetrievals):
// a payload is about 54 KB, and one no process serves any more would
// otherwise stay until the user is erased.
const pruneEvery = time.Minute

// maybePrune prunes the stored retrievals when pruneEvery has passed
// since this Service last did (or it never did).
func (s *Service) maybePrune(ctx context.Context) {
	now := s.now()
	b := &s.bg
	b.mu.Lock()
	due := b.pruned.IsZero() || !within(b.pruned, now, pruneEvery)
	if due {
		b.pruned = now
	}
	b.mu.Unlock()
	if !due {
		return
	}
	if _, err := s.d.Events.PruneUserRetrievals(ctx, now.Add(-s.cf.ttl)); err != nil {
		s.log.Warn("prune stored recommendation retrievals", "err", err)
	}
}

// retrievalFormat is the first byte of an encoded retrieval: a payload
// another format wrote does not decode, and is retrieved afresh.
const retrievalFormat byte = 1

// encodeRetrieval encodes a user's retrieval losslessly and compactly
// (floats as their 4 or 8 bytes), so a request that reads it serves what
// the retrieving one would have: the factors, the top items, the nearest
// products, the item-based scores and the candidates' reads (factors,
// vectors, and the live products' brands and categories).
func encodeRetrieval(r retrieval) []byte {
	n := 256
	for _, v := range r.reads.vecs {
		n += 4*len(v) + 32
	}
	for _, v := range r.reads.factors {
		n += 4*len(v) + 32
	}
	e := enc{b: make([]byte, 0, n)}
	e.b = append(e.b, retrievalFormat)
	e.floats(r.uf)
	e.uint(len(r.top))
	for _, x := range r.top {
		e.str(x.ProductID)
		e.float64(x.Score)
	}
	e.uint(len(r.nn))
	for _, x := range r.nn {
		e.str(x.ProductID)
		e.float64(x.Distance)
	}
	e.uint(len(r.chosen))
	for name, scores := range r.chosen {
		e.str(name)
		e.uint(len(scores))
		for id, v := range scores {
			e.str(id)
			e.float64(v)
		}
	}
	e.bool(r.reads.read != nil)
	e.uint(len(r.reads.read))
	for id := range r.reads.read {
		e.str(id)
		e.floats(r.reads.factors[id])
		e.floats(r.reads.vecs[id])
		p, live := r.reads.products[id]
		e.bool(live)
		if live {
			e.str(p.Brand)
			e.strs(p.Category)
		}
	}
	return e.b
}

// decodeRetrieval decodes what encodeRetrieval encoded.
func decodeRetrieval(b []byte) (retrieval, error) {
	d := dec{b: b}
	if len(b) == 0 || b[0] != retrievalFormat {
		return retrieval{}, errRetrievalFormat
	}
	d.b = d.b[1:]
	var r retrieval
	r.uf = d.floats()
	if n := d.uint(); n > 0 {
		r.top = make([]records.Scored, n)
		for i := range r.top {
			r.top[i] = records.Scored{ProductID: d.str(), Score: d.float64()}
		}
	}
	if n := d.uint(); n > 0 {
		r.nn = make([]records.Neighbor, n)
		for i := range r.nn {
			r.nn[i] = records.Neighbor{ProductID: d.str(), Distance: d.float64()}
		}
	}
	if n := d.uint(); n > 0 {
		r.chosen = make(map[string]map[string]float64, n)
		for range n {
			name, m := d.str(), d.uint()
			scores := make(map[string]float64, m)
			for range m {
				scores[d.str()] = d.float64()
			}
			r.chosen[name] = scores
		}
	}
	if hasReads, n := d.bool(), d.uint(); hasReads {
		r.reads = candidateReads{read: make(map[string]bool, n), factors: make(map[string][]float32, n),
			vecs: make(map[string][]float32, n), products: make(map[string]catalog.Product, n)}
		for range n {
			id := d.str()
			r.reads.read[id] = true
			if f := d.floats(); f != nil {
				r.reads.factors[id] = f
			}
			if v := d.floats(); v != nil {
				r.reads.vecs[id] = v
			}
			if d.bool() {
				r.reads.products[id] = catalog.Product{ID: id, Brand: d.str(), Category: d.strs()}
			}
		}
	}
	if d.bad || len(d.b) != 0 {
		return retrieval{}, errRetrievalFormat
	}
	return r, nil
}

// errRetrievalFormat: a stored retrieval that does not decode.
var errRetrievalFormat = errors.New("stored retrieval: unknown or damaged format")

// enc appends a retrieval's parts to b.
type enc struct{ b []byte }

func (e *enc) uint(n int) { e.b = binary.AppendUvarint(e.b, uint64(n)) }

func (e *enc) bool(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}

func (e *enc) str(s string) {
	e.uint(len(s))
	e.b = append(e.b, s...)
}

// strs writes nil and empty apart (a product's category is nil when none).
func (e *enc) strs(ss []string) {
	e.bool(ss != nil)
	e.uint(len(ss))
	for _, s := range ss {
		e.str(s)
	}
}

func (e *enc) float64(v float64) { e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(v)) }

// floats writes nil and empty apart.
func (e *enc) floats(v []float32) {
	e.bool(v != nil)
	e.uint(len(v))
	e.b = vecmath.AppendBytes(e.b, v)
}

// dec reads what enc wrote; bad is set, and zero values read, once b
// runs short.
type dec struct {
	b   []byte
	bad bool
}

func (d *dec) take(n int) []byte {
	if d.bad || n < 0 || n > len(d.b) {
		d.bad = true
		return nil
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}

func (d *dec) uint() int {
	v, n := binary.Uvarint(d.b)
	if n <= 0 || v > uint64(len(d.b)) { // no count exceeds the bytes left
		d.bad = true
		return 0
	}
	d.b = d.b[n:]
	return int(v)
}

func (d *dec) bool() bool {
	b := d.take(1)
	return len(b) == 1 && b[0] == 1
}

func (d *dec) str() string { return string(d.take(d.uint())) }

func (d *dec) strs() []string {
	isSet, n := d.bool(), d.uint()
	if !isSet {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = d.str()
	}
	return out
}

func (d *dec) float64() float64 {
	b := d.take(8)
	if b == nil {
		return 0
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(b))
}

func (d *dec) floats() []float32 {
	isSet, n := d.bool(), d.uint()
	b := d.take(4 * n)
	if !isSet || b == nil {
		return nil
	}
	return vecmath.FromBytes(b)
}
