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

// Trimmer drops the change-log rows written before t (*store.Store is
// one). A Syncer whose Source is also a Trimmer trims the log it reads
// (WithRetention).
type Trimmer interface {
	DeleteProductChangesBefore(ctx context.Context, t time.Time) (int64, error)
}

// Syncer keeps an Index equal to the live products of a Source: it builds
// the index from a snapshot, then applies the change log, woken by
// notifications and polling as a fallback. Every API process runs its own;
// each converges within the poll interval of any committed write.
//
// Housekeeping runs between catch-ups: the index is compacted once enough
// products were replaced or deleted (Index.Compact), and, when the Source
// is a Trimmer, change-log rows older than the retention are dropped
// every trim interval. Trimming is safe for every process: a starting
// one builds from a snapshot and replays only the gap wait before it; a
// running one that could not read the log for longer than the retention
// less the gap wait (rows it still needs may be gone) rebuilds from a
// snapshot instead of applying the log.
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
	// synced is when the change log was last read to its end; trimmed
	// when it was last trimmed.
	synced, trimmed time.Time
}

type syncConfig struct {
	index          []Option
	poll, gapWait  time.Duration
	snapPage, page int
	log            *slog.Logger
	retention      time.Duration // 0: never trim
	trimEvery      time.Duration
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

// WithRetention sets how long change-log rows are kept before the Syncer
// trims them (default 24 h; 0 never trims) and how often it trims
// (default 10 min). The retention is raised to twice the gap wait if
// shorter: a starting process replays that much of the log.
func WithRetention(keep, every time.Duration) SyncOption {
	return func(c *syncConfig) { c.retention, c.trimEvery = keep, every }
}

// WithLogger sets where sync errors are logged.
func WithLogger(l *slog.Logger) SyncOption { return func(c *syncConfig) { c.log = l } }

// NewSyncer returns a Syncer over src; Run starts it.
func NewSyncer(src Source, opts ...SyncOption) *Syncer {
	c := syncConfig{poll: 500 * time.Millisecond, gapWait: 30 * time.Second, snapPage: 5000, page: 2000, log: slog.Default(),
		retention: 24 * time.Hour, trimEvery: 10 * time.Minute}
	for _, o := range opts {
		o(&c)
	}
	if c.retention > 0 {
		c.retention = max(c.retention, 2*c.gapWait)
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
	if err := s.rebuild(ctx); err != nil {
		return err
	}
	s.once.Do(func() { close(s.ready) })
	go s.listen(ctx)
	tick := time.NewTicker(s.cfg.poll)
	defer tick.Stop()
	for {
		if err := s.sync(ctx); err != nil && ctx.Err() == nil {
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

// rebuild indexes a snapshot of the live products and sets the cursor to
// replay the changes of the gap wait before it; searches use the previous
// index until it is swapped in.
func (s *Syncer) rebuild(ctx context.Context) error {
	start := time.Now()
	from, err := s.src.ProductChangeSeqBefore(ctx, start.Add(-s.cfg.gapWait))
	if err != nil {
		return err
	}
	ix, err := s.snapshot(ctx)
	if err != nil {
		return err
	}
	s.next, s.seen, s.gapSince = from+1, map[int64]bool{}, time.Time{}
	s.synced = start
	s.ix.Store(ix)
	s.reweighN = ix.Len()
	s.cfg.log.Info("lexical index ready", "products", ix.Len(), "seconds", time.Since(start).Seconds())
	return nil
}

// sync brings the index up to date (from a new snapshot when the log it
// needs may have been trimmed), then does the housekeeping that is due.
func (s *Syncer) sync(ctx context.Context) error {
	now := time.Now()
	if s.cfg.retention > 0 && now.Sub(s.synced) > s.cfg.retention-s.cfg.gapWait {
		s.cfg.log.Warn("lexical sync: behind the change log's retention, rebuilding", "last_synced", s.synced)
		if err := s.rebuild(ctx); err != nil {
			return err
		}
	}
	if err := s.catchUp(ctx); err != nil {
		return err
	}
	s.synced = now
	if s.ix.Load().Compact() {
		s.cfg.log.Debug("lexical index compacted", "products", s.ix.Load().Len())
	}
	return s.trim(ctx, now)
}

// trim drops the change-log rows older than the retention, once per trim
// interval (when the Source can).
func (s *Syncer) trim(ctx context.Context, now time.Time) error {
	t, ok := s.src.(Trimmer)
	if !ok || s.cfg.retention <= 0 || now.Sub(s.trimmed) < s.cfg.trimEvery {
		return nil
	}
	n, err := t.DeleteProductChangesBefore(ctx, now.Add(-s.cfg.retention))
	if err != nil {
		return err
	}
	s.trimmed = now
	if n > 0 {
		s.cfg.log.Debug("product change log trimmed", "rows", n)
	}
	return nil
}

// snapshot indexes every live product: pages are read from the Source
// one ahead of the page being indexed (Index.PutAll, analysing on every
// core), so reading and indexing overlap.
func (s *Syncer) snapshot(ctx context.Context) (*Index, error) {
	ix, err := New(s.cfg.index...)
	if err != nil {
		return nil, err
	}
	err = ReadPages(ctx, s.src, s.cfg.snapPage, func(ps []catalog.Product) error {
		ix.PutAll(ps)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("lexical snapshot: %w", err)
	}
	ix.Reweigh()
	return ix, nil
}

// Pager reads products in id order, a page at a time (*store.Store is
// one).
type Pager interface {
	ProductsAfter(ctx context.Context, after string, limit int) ([]catalog.Product, error)
}

// ReadPages hands every product of src to fn a page of size at a time,
// in id order, reading the next page while fn handles the last, so
// reading and indexing overlap. It stops at the first read error (wrapped
// as "read products"), fn's first error, or the end of ctx (its error:
// a read cut short is never taken for the end).
func ReadPages(ctx context.Context, src Pager, size int, fn func([]catalog.Product) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type page struct {
		ps  []catalog.Product
		err error
	}
	pages := make(chan page, 1)
	go func() {
		defer close(pages)
		after := ""
		for {
			ps, err := src.ProductsAfter(ctx, after, size)
			select {
			case pages <- page{ps, err}:
			case <-ctx.Done():
				return
			}
			if err != nil || len(ps) < size {
				return
			}
			after = ps[len(ps)-1].ID
		}
	}()
	for pg := range pages {
		if pg.err != nil {
			return fmt.Errorf("read products: %w", pg.err)
		}
		if err := fn(pg.ps); err != nil {
			return err
		}
	}
	return ctx.Err()
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

// Start runs the syncer in the background until stop (or ctx's end) and
// returns once its first snapshot is searchable, or with the error that
// ended it before then.
func (s *Syncer) Start(ctx context.Context) (stop func(), err error) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	select {
	case <-s.Ready():
		return func() {
			cancel()
			<-done
		}, nil
	case err := <-done:
		cancel()
		if err == nil {
			err = ctx.Err()
		}
		return nil, fmt.Errorf("lexical index: %w", err)
	}
}
