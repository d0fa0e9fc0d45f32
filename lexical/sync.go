package lexical

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/records"
)

// Source is what a Syncer reads from the system of record (*store.Store
// is one): the live products, by page or by id, and the change log.
type Source interface {
	ProductsAfter(ctx context.Context, after string, limit int) ([]catalog.Product, error)
	// GetProducts returns the live products among ids.
	GetProducts(ctx context.Context, ids []string) (map[string]catalog.Product, error)
	ProductChangesAfter(ctx context.Context, after int64, limit int) ([]records.ProductChange, error)
	// ProductChangeSeqBefore is the sequence number after which every
	// change written at or after t lies.
	ProductChangeSeqBefore(ctx context.Context, t time.Time) (int64, error)
	// ListenProductChanges calls wake after each transaction that changed
	// products, until ctx ends or the connection fails.
	ListenProductChanges(ctx context.Context, wake func()) error
}

// Syncer keeps an Index equal to the live products of a Source: it builds
// the index from a snapshot, then applies the change log, woken by
// notifications and polling as a fallback. Every API process runs its own;
// each converges within the poll interval of any committed write.
type Syncer struct {
	src   Source
	cfg   syncConfig
	ix    atomic.Pointer[Index]
	ready chan struct{}
	wake  chan struct{}
	once  sync.Once

	// Owned by Run: every change below next is applied; seen holds the
	// applied ones above it (the sequence has gaps while writes commit
	// out of order); gapSince is when the gap at next was first seen.
	next     int64
	seen     map[int64]bool
	gapSince time.Time
	reweighN int
}

type syncConfig struct {
	index          []Option
	poll, gapWait  time.Duration
	snapPage, page int
	log            *slog.Logger
}

// SyncOption configures a Syncer.
type SyncOption func(*syncConfig)

// WithIndexOptions sets the options of the indexes the Syncer builds.
func WithIndexOptions(opts ...Option) SyncOption {
	return func(c *syncConfig) { c.index = append(c.index, opts...) }
}

// WithPoll sets how often the change log is read without a notification
// (default 500 ms).
func WithPoll(d time.Duration) SyncOption { return func(c *syncConfig) { c.poll = d } }

// WithGapWait sets how long a hole in the change log's sequence is waited
// for before it is taken for a rolled-back write (default 30 s); the
// snapshot also replays the changes of this long before it started.
func WithGapWait(d time.Duration) SyncOption { return func(c *syncConfig) { c.gapWait = d } }

// WithLogger sets where sync errors are logged.
func WithLogger(l *slog.Logger) SyncOption { return func(c *syncConfig) { c.log = l } }

// NewSyncer returns a Syncer over src; Run starts it.
func NewSyncer(src Source, opts ...SyncOption) *Syncer {
	c := syncConfig{poll: 500 * time.Millisecond, gapWait: 30 * time.Second, snapPage: 5000, page: 2000, log: slog.Default()}
	for _, o := range opts {
		o(&c)
	}
	return &Syncer{src: src, cfg: c, ready: make(chan struct{}), wake: make(chan struct{}, 1), seen: map[int64]bool{}}
}

// Ready is closed once the first snapshot is searchable.
func (s *Syncer) Ready() <-chan struct{} { return s.ready }

// Index returns the current index (nil before the first snapshot).
func (s *Syncer) Index() *Index { return s.ix.Load() }

// Run builds the index and keeps it in sync until ctx ends (it then
// returns nil). It fails only if the first snapshot does; later errors
// are logged and retried.
func (s *Syncer) Run(ctx context.Context) error {
	start := time.Now()
	from, err := s.src.ProductChangeSeqBefore(ctx, start.Add(-s.cfg.gapWait))
	if err != nil {
		return err
	}
	ix, err := s.snapshot(ctx)
	if err != nil {
		return err
	}
	s.next = from + 1
	s.ix.Store(ix)
	s.reweighN = ix.Len()
	s.once.Do(func() { close(s.ready) })
	s.cfg.log.Info("lexical index ready", "products", ix.Len(), "seconds", time.Since(start).Seconds())
	go s.listen(ctx)
	tick := time.NewTicker(s.cfg.poll)
	defer tick.Stop()
	for {
		if err := s.catchUp(ctx); err != nil && ctx.Err() == nil {
			s.cfg.log.Warn("lexical sync", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
		case <-tick.C:
		}
	}
}

// snapshot indexes every live product.
func (s *Syncer) snapshot(ctx context.Context) (*Index, error) {
	ix, err := New(s.cfg.index...)
	if err != nil {
		return nil, err
	}
	after := ""
	for {
		ps, err := s.src.ProductsAfter(ctx, after, s.cfg.snapPage)
		if err != nil {
			return nil, fmt.Errorf("lexical snapshot: %w", err)
		}
		for _, p := range ps {
			ix.Put(p)
		}
		if len(ps) < s.cfg.snapPage {
			break
		}
		after = ps[len(ps)-1].ID
	}
	ix.Reweigh()
	return ix, nil
}

// listen turns notifications into wake-ups, reconnecting after failures.
func (s *Syncer) listen(ctx context.Context) {
	backoff := time.Second
	for ctx.Err() == nil {
		err := s.src.ListenProductChanges(ctx, func() {
			select {
			case s.wake <- struct{}{}:
			default:
			}
		})
		if ctx.Err() != nil {
			return
		}
		s.cfg.log.Warn("lexical sync: listen", "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// catchUp applies the changes after the cursor.
func (s *Syncer) catchUp(ctx context.Context) error {
	ix := s.ix.Load()
	after := s.next - 1
	for {
		cs, err := s.src.ProductChangesAfter(ctx, after, s.cfg.page)
		if err != nil {
			return err
		}
		var ids []string
		for _, c := range cs {
			if !s.seen[c.Seq] && !slices.Contains(ids, c.ProductID) {
				ids = append(ids, c.ProductID)
			}
		}
		if err := s.apply(ctx, ix, ids); err != nil {
			return err
		}
		for _, c := range cs {
			s.seen[c.Seq] = true
		}
		if len(cs) < s.cfg.page {
			break
		}
		after = cs[len(cs)-1].Seq
	}
	s.advance(time.Now())
	if n := ix.Len(); n > s.reweighN+s.reweighN/5 || n < s.reweighN-s.reweighN/5 {
		ix.Reweigh() // the average field lengths moved: weigh everyone alike
		s.reweighN = n
	}
	return nil
}

// advance moves the cursor over the applied changes; a hole older than
// the gap wait is taken for a rolled-back write and passed.
func (s *Syncer) advance(now time.Time) {
	for {
		for s.seen[s.next] {
			delete(s.seen, s.next)
			s.next++
		}
		if len(s.seen) == 0 {
			s.gapSince = time.Time{}
			return
		}
		if s.gapSince.IsZero() {
			s.gapSince = now
		}
		if now.Sub(s.gapSince) < s.cfg.gapWait {
			return
		}
		s.next = slices.Min(slices.Collect(maps.Keys(s.seen)))
		s.gapSince = time.Time{}
	}
}

// apply re-reads products and puts the live ones, deleting the others.
func (s *Syncer) apply(ctx context.Context, ix *Index, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	ps, err := s.src.GetProducts(ctx, ids)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if p, ok := ps[id]; ok {
			ix.Put(p)
		} else {
			ix.Delete(id)
		}
	}
	return nil
}

// Suggester is the rest of serving's text port, which stays in
// PostgreSQL: suggestions and the query log.
type Suggester interface {
	Suggest(ctx context.Context, prefix string, k int, boostCategories []string) ([]records.Suggestion, error)
	LogQuery(ctx context.Context, userID, q string) error
}

// Text serves lexical search and facets from a Syncer's index and
// suggestions and the query log from a Suggester: serving's Text port.
type Text struct {
	*Syncer
	Suggester
}

// wait blocks until the first snapshot is searchable.
func (s *Syncer) wait(ctx context.Context) (*Index, error) {
	select {
	case <-s.ready:
		return s.ix.Load(), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// SearchText is serving's lexical search on the index: the best q.K
// matches, their total and (when asked) their facets, waiting for the
// first snapshot if need be.
func (s *Syncer) SearchText(ctx context.Context, q records.TextQuery) (records.TextMatches, error) {
	ix, err := s.wait(ctx)
	if err != nil {
		return records.TextMatches{}, err
	}
	res, err := ix.Search(Query{Text: q.Text, K: q.K, Filter: q.Filter, Facets: q.Facets})
	if err != nil {
		return records.TextMatches{}, fmt.Errorf("%w: %w", catalog.ErrInvalid, err)
	}
	out := records.TextMatches{Hits: make([]records.TextHit, len(res.Hits)), Total: res.Total, Facets: res.Facets}
	for i, h := range res.Hits {
		out.Hits[i] = records.TextHit(h)
	}
	return out, nil
}

// Facets counts the given products (those the index holds).
func (s *Syncer) Facets(ctx context.Context, ids []string) (records.Facets, error) {
	ix, err := s.wait(ctx)
	if err != nil {
		return records.Facets{}, err
	}
	return ix.FacetsOf(ids), nil
}
