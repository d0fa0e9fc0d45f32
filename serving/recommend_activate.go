package serving

import (
	"context"
)

// Every stored retrieval's digest holds the model and space versions it
// was made with, so activating a new model or space makes them all stale
// at once, and every shopper's next request would retrieve afresh. A
// Service that sees the versions its requests read move (not the first
// ones it sees: a process starting finds what others stored) refreshes,
// in the background with the refresh workers, the stored retrievals of
// the users who asked most recently, the latest first, at most
// refreshOnActivate of them (WithRefreshOnActivate). Several processes
// each start the refreshes; the later ones find the retrieval stored and
// reuse it (a read of its payload).

// DefaultRefreshOnActivate bounds the users whose retrievals are
// refreshed when a new model or space is activated, unless
// WithRefreshOnActivate says otherwise; it fits the refresh queue
// (maxQueuedRefreshes).
const DefaultRefreshOnActivate = 1000

// WithRefreshOnActivate sets how many of the users who asked for
// recommendations most recently have their stored retrievals refreshed in
// the background when a new model or space is activated
// (recommend.refresh_on_activate; 0: none).
func WithRefreshOnActivate(users int) Option {
	return func(s *Service) { s.bg.onActivate = max(users, 0) }
}

// activation is the versions a Service's requests last read.
type activation struct {
	seen      bool
	space, cf int
}

// noticeVersions records the space and model versions a request read
// and, when they moved since the last request, refreshes the recently
// asking users' retrievals in the background.
func (s *Service) noticeVersions(space, cf int) {
	b := &s.bg
	b.mu.Lock()
	moved := b.versions.seen && (b.versions.space != space || b.versions.cf != cf)
	b.versions = activation{seen: true, space: space, cf: cf}
	n := b.onActivate
	b.mu.Unlock()
	if !moved || n == 0 || s.cf.ttl == 0 {
		return
	}
	_ = b.start(func() {
		ctx, cancel := context.WithTimeout(context.Background(), refreshTimeout)
		defer cancel()
		users, err := s.d.Events.RecentRetrievalUsers(ctx, n)
		if err != nil {
			s.log.Warn("list users to refresh after an activation", "err", err)
			return
		}
		s.log.Info("refreshing recommendation retrievals after an activation", "space", space, "cf_model", cf, "users", len(users))
		for _, uid := range users {
			s.refreshLater(uid)
		}
	})
}
