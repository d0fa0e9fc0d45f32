package api

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/serving"
	"github.com/vitrinehq/vitrine/store"
)

// ImpressionsConfig tunes the impression log: every list the API serves
// (search, rank, recommendations, similar products, search by photo) is
// recorded for online metrics, through a bounded buffer written in
// batches, so serving never waits for the database.
type ImpressionsConfig struct {
	Enabled bool
	// Buffer bounds impressions waiting to be written. When it is full,
	// new impressions are dropped (vitrine_impressions_dropped_total
	// {reason="buffer_full"}) and their responses carry no impression_id.
	Buffer int
	// BatchSize impressions waiting wake the writer at once; otherwise it
	// writes every FlushEvery.
	BatchSize  int
	FlushEvery time.Duration
	// Retention: impressions older than this are deleted once an hour
	// (0 keeps them).
	Retention time.Duration
}

// DefaultImpressions is the impression log of DefaultConfig.
func DefaultImpressions() ImpressionsConfig {
	return ImpressionsConfig{Enabled: true, Buffer: 10000, BatchSize: 500, FlushEvery: time.Second, Retention: 90 * 24 * time.Hour}
}

// impressionGrace: an event may name an impression this server has never
// seen when another server minted it moments ago and has not written it
// yet. Ids are UUIDv7, so their age is known: an unknown id younger than
// this is accepted, an older one is rejected.
const impressionGrace = time.Minute

// maxWriteAttempts bounds how often a buffered impression is retried when
// writing fails (the database is down): after that it is dropped
// (reason="write_failed") so a bad batch cannot block the log forever.
const maxWriteAttempts = 10

type pendingImpression struct {
	imp      records.Impression
	attempts int
}

type impressionMetrics struct {
	logged   prometheus.Counter
	written  prometheus.Counter
	dropped  *prometheus.CounterVec
	buffered prometheus.Gauge
	flush    prometheus.Histogram
}

func newImpressionMetrics(reg *prometheus.Registry) impressionMetrics {
	m := impressionMetrics{
		logged: prometheus.NewCounter(prometheus.CounterOpts{Name: "vitrine_impressions_logged_total",
			Help: "Served lists queued for the impression log."}),
		written: prometheus.NewCounter(prometheus.CounterOpts{Name: "vitrine_impressions_written_total",
			Help: "Impressions written to the database."}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vitrine_impressions_dropped_total",
			Help: "Impressions lost: buffer_full (the writer fell behind), write_failed (the database stayed unavailable) or refused (the database refused the row itself, e.g. a constraint; the rest of its batch was written)."}, []string{"reason"}),
		buffered: prometheus.NewGauge(prometheus.GaugeOpts{Name: "vitrine_impressions_buffered",
			Help: "Impressions waiting to be written."}),
		flush: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "vitrine_impressions_write_duration_seconds",
			Help: "Time to write one batch of impressions.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}),
	}
	m.dropped.WithLabelValues("buffer_full")
	m.dropped.WithLabelValues("write_failed")
	m.dropped.WithLabelValues("refused")
	reg.MustRegister(m.logged, m.written, m.dropped, m.buffered, m.flush)
	return m
}

// impressionLog buffers impressions and writes them in batches from one
// goroutine. Requests only append to a slice under a mutex: no database
// round trip, no blocking (a full buffer drops and counts).
type impressionLog struct {
	st  *store.Store
	cfg ImpressionsConfig
	log *slog.Logger
	m   impressionMetrics

	mu       sync.Mutex
	pending  []pendingImpression
	inflight []pendingImpression // the batch being written

	// writeMu serialises writes with each other and with forget, so an
	// erased user's impressions cannot be in flight while they are erased.
	writeMu sync.Mutex

	wake      chan struct{}
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
}

func newImpressionLog(st *store.Store, cfg ImpressionsConfig, reg *prometheus.Registry, log *slog.Logger) *impressionLog {
	def := DefaultImpressions()
	if cfg.Buffer <= 0 {
		cfg.Buffer = def.Buffer
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = def.BatchSize
	}
	if cfg.FlushEvery <= 0 {
		cfg.FlushEvery = def.FlushEvery
	}
	l := &impressionLog{st: st, cfg: cfg, log: log, m: newImpressionMetrics(reg),
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go l.run()
	return l
}

// add queues an impression; false when the buffer is full (dropped).
func (l *impressionLog) add(imp records.Impression) bool {
	l.mu.Lock()
	if len(l.pending) >= l.cfg.Buffer {
		l.mu.Unlock()
		l.m.dropped.WithLabelValues("buffer_full").Inc()
		return false
	}
	l.pending = append(l.pending, pendingImpression{imp: imp})
	n := len(l.pending)
	l.mu.Unlock()
	l.m.logged.Inc()
	l.m.buffered.Set(float64(n))
	if n >= l.cfg.BatchSize {
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
	return true
}

func (l *impressionLog) run() {
	defer close(l.done)
	tick := time.NewTicker(l.cfg.FlushEvery)
	defer tick.Stop()
	// Pruning starts a minute after start (let the server settle), then
	// runs hourly; a nil channel never fires when retention is off.
	var prune <-chan time.Time
	pruneTimer := time.NewTimer(time.Minute)
	defer pruneTimer.Stop()
	if l.cfg.Retention > 0 {
		prune = pruneTimer.C
	}
	for {
		select {
		case <-l.stop:
			return
		case <-tick.C:
			l.flushLogged()
		case <-l.wake:
			l.flushLogged()
		case <-prune:
			l.prune()
			pruneTimer.Reset(time.Hour)
		}
	}
}

func (l *impressionLog) flushLogged() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := l.flush(ctx); err != nil {
		l.log.Warn("impression log: write failed; will retry", "err", err)
	}
}

func (l *impressionLog) prune() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	n, err := l.st.PruneImpressions(ctx, time.Now().Add(-l.cfg.Retention))
	if err != nil {
		l.log.Warn("impression log: pruning failed", "err", err)
		return
	}
	if n > 0 {
		l.log.Info("impression log: pruned old impressions", "deleted", n, "retention", l.cfg.Retention)
	}
}

// flush writes everything buffered, a batch at a time. A batch the
// database refuses while it is up holds a row it will never take: the
// batch is split (isolate) so the other rows are written and only the
// refused ones are dropped (reason="refused"), so one bad row cannot take
// every other user's impressions with it. While the database is down the
// batch goes back to the front of the buffer (as far as there is room) and
// flush returns: the next tick retries, up to maxWriteAttempts times.
func (l *impressionLog) flush(ctx context.Context) error {
	l.writeMu.Lock()
	defer l.writeMu.Unlock()
	for {
		l.mu.Lock()
		n := min(len(l.pending), l.cfg.BatchSize)
		if n == 0 {
			l.mu.Unlock()
			l.m.buffered.Set(0)
			return nil
		}
		batch := l.pending[:n:n]
		l.pending = l.pending[n:]
		if len(l.pending) == 0 {
			l.pending = nil // let the old array go
		}
		l.inflight = batch
		l.mu.Unlock()

		start := time.Now()
		err := l.write(ctx, batch)
		l.m.flush.Observe(time.Since(start).Seconds())
		if err != nil && l.st.Ping(ctx) == nil {
			var refused int
			refused, err = l.isolate(ctx, batch)
			l.m.dropped.WithLabelValues("refused").Add(float64(refused))
			l.log.Warn("impression log: the database refused impressions; dropped them and wrote the rest", "refused", refused)
		}
		if err == nil {
			l.mu.Lock()
			l.inflight = nil
			left := len(l.pending)
			l.mu.Unlock()
			l.m.buffered.Set(float64(left))
			continue
		}
		l.requeue(batch)
		return err
	}
}

// write inserts impressions, counting those written.
func (l *impressionLog) write(ctx context.Context, batch []pendingImpression) error {
	imps := make([]records.Impression, len(batch))
	for i, p := range batch {
		imps[i] = p.imp
	}
	if err := l.st.InsertImpressions(ctx, imps); err != nil {
		return err
	}
	l.m.written.Add(float64(len(batch)))
	return nil
}

// isolate writes a refused batch by halves, down to single rows, while the
// database is up: it returns how many rows were refused on their own
// (dropped). An error means the database went away meanwhile (the rows
// not yet written are requeued by the caller, harmlessly including any
// written ones: re-inserting an impression changes nothing).
func (l *impressionLog) isolate(ctx context.Context, batch []pendingImpression) (int, error) {
	if len(batch) == 1 {
		if l.st.Ping(ctx) != nil {
			return 0, errors.New("impression log: database unavailable while isolating a refused row")
		}
		return 1, nil
	}
	refused := 0
	for _, half := range [][]pendingImpression{batch[:len(batch)/2], batch[len(batch)/2:]} {
		if l.write(ctx, half) == nil {
			continue
		}
		n, err := l.isolate(ctx, half)
		if err != nil {
			return refused, err
		}
		refused += n
	}
	return refused, nil
}

// requeue puts a batch that could not be written back at the front of the
// buffer, dropping those tried maxWriteAttempts times and what no longer
// fits.
func (l *impressionLog) requeue(batch []pendingImpression) {
	l.mu.Lock()
	l.inflight = nil
	keep := make([]pendingImpression, 0, len(batch))
	lost := 0
	for _, p := range batch {
		if p.attempts++; p.attempts < maxWriteAttempts {
			keep = append(keep, p)
		} else {
			lost++
		}
	}
	if room := l.cfg.Buffer - len(l.pending); len(keep) > room {
		lost += len(keep) - max(room, 0)
		keep = keep[:max(room, 0)]
	}
	l.pending = append(keep, l.pending...)
	left := len(l.pending)
	l.mu.Unlock()
	l.m.dropped.WithLabelValues("write_failed").Add(float64(lost))
	l.m.buffered.Set(float64(left))
}

// owners returns the users of those of ids buffered here, in one pass over
// the buffer (a batch of events may name many impressions).
func (l *impressionLog) owners(ids map[string]bool) map[string]string {
	out := map[string]string{}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, list := range [][]pendingImpression{l.inflight, l.pending} {
		for _, p := range list {
			if ids[p.imp.ID] {
				out[p.imp.ID] = p.imp.UserID
			}
		}
	}
	return out
}

// forget drops the user's buffered impressions and then runs erase (the
// database erasure) while no write can be in flight, so nothing of the
// user is written after it. It returns how many impressions it dropped.
func (l *impressionLog) forget(userID string, erase func() error) (int, error) {
	l.writeMu.Lock()
	defer l.writeMu.Unlock()
	l.mu.Lock()
	kept := l.pending[:0]
	for _, p := range l.pending {
		if p.imp.UserID != userID {
			kept = append(kept, p)
		}
	}
	dropped := len(l.pending) - len(kept)
	clear(l.pending[len(kept):])
	l.pending = kept
	left := len(kept)
	l.mu.Unlock()
	l.m.buffered.Set(float64(left))
	return dropped, erase()
}

// close stops the writer and writes what is left.
func (l *impressionLog) close(ctx context.Context) error {
	l.closeOnce.Do(func() {
		close(l.stop)
		<-l.done
		l.closeErr = l.flush(ctx)
		l.mu.Lock()
		left := len(l.pending)
		l.mu.Unlock()
		if left > 0 {
			l.m.dropped.WithLabelValues("write_failed").Add(float64(left))
			l.log.Warn("impression log: impressions lost at shutdown", "count", left, "err", l.closeErr)
		}
	})
	return l.closeErr
}

// newImpressionID mints a UUID version 7 (RFC 9562): 48 bits of Unix
// milliseconds, then random bits. Ids sort by time, index well, and say
// how old they are (see impressionGrace).
func newImpressionID(now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	_, _ = rand.Read(b[6:])
	b[6] = b[6]&0x0f | 0x70 // version 7
	b[8] = b[8]&0x3f | 0x80 // RFC 9562 variant
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// impressionIDTime is when a UUIDv7 was minted; false for other UUIDs.
func impressionIDTime(id string) (time.Time, bool) {
	if len(id) != 36 || id[14] != '7' {
		return time.Time{}, false
	}
	ms, err := strconv.ParseUint(id[0:8]+id[9:13], 16, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.UnixMilli(int64(ms)), true
}

// served records a list served to userID ("" for anonymous requests)
// under the experiment variant that produced it, and returns its
// impression id, "" when the log is off or full.
func (s *Server) served(surface, userID string, a serving.Assignment, hits []Hit) string {
	if s.imps == nil {
		return ""
	}
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i] = h.ID
	}
	now := time.Now()
	imp := records.Impression{ID: newImpressionID(now), UserID: userID, Surface: surface, Experiment: a.Experiment, Variant: a.Variant, ProductIDs: ids, ServedAt: now}
	if !s.imps.add(imp) {
		return ""
	}
	return imp.ID
}

// FlushImpressions writes the buffered impressions now (for tests and
// admin tasks; the writer also does it on its own).
func (s *Server) FlushImpressions(ctx context.Context) error {
	if s.imps == nil {
		return nil
	}
	return s.imps.flush(ctx)
}

// Close stops the impression writer after writing what it holds. Start
// calls it on shutdown; servers used only through Handler should call it.
func (s *Server) Close(ctx context.Context) error {
	if s.imps == nil {
		return nil
	}
	return s.imps.close(ctx)
}

// servedInto records a list like served and adds impression_id (and the
// variant, when an experiment runs) to a map response.
func (s *Server) servedInto(resp map[string]any, surface, userID string, a serving.Assignment, hits []Hit) {
	if id := s.served(surface, userID, a, hits); id != "" {
		resp["impression_id"] = id
	}
	if a.Variant != "" {
		resp["variant"] = a.Variant
	}
}

// checkImpressions checks the impression ids events name, and returns why
// each bad one is bad, by index into evs. An id is found in this server's
// buffer, else in the database; an id found nowhere is accepted only when
// it is a UUIDv7 minted within impressionGrace (another server may still
// hold it in its buffer).
func (s *Server) checkImpressions(ctx context.Context, evs []catalog.Event) (map[int]string, error) {
	wanted := map[string]bool{}
	for _, e := range evs {
		if e.ImpressionID != "" {
			wanted[strings.ToLower(e.ImpressionID)] = true
		}
	}
	owners := map[string]string{}
	if len(wanted) > 0 && s.imps != nil {
		owners = s.imps.owners(wanted)
	}
	var lookup []string
	for id := range wanted {
		if _, buffered := owners[id]; !buffered {
			lookup = append(lookup, id)
		}
	}
	if len(lookup) > 0 {
		found, err := s.deps.Store.ImpressionUsers(ctx, lookup)
		if err != nil {
			return nil, err
		}
		for id, u := range found {
			owners[id] = u
		}
	}
	bad := map[int]string{}
	for j, e := range evs {
		id := strings.ToLower(e.ImpressionID)
		if id == "" {
			continue
		}
		u, ok := owners[id]
		switch {
		case !ok:
			if at, v7 := impressionIDTime(id); v7 && time.Since(at) < impressionGrace && time.Until(at) < impressionGrace {
				continue
			}
			bad[j] = "unknown impression (not served, or expired)"
		case u != "" && u != e.UserID:
			bad[j] = "was served to another user"
		}
	}
	return bad, nil
}
