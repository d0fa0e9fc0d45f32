package api

import (
	"context"
	"time"

	"github.com/vitrinehq/vitrine/records"
)

// SweepLimiters exposes the rate-limiter sweep to the external tests.
func (s *Server) SweepLimiters(now time.Time) int { return s.sweepLimiters(now) }

// QueueImpression puts an impression straight into the log's buffer, as a
// served list would, so tests can plant a row the database refuses.
func (s *Server) QueueImpression(imp records.Impression) bool { return s.imps.add(imp) }

// TakeUploadSlots occupies every photo-search slot, as uploads decoding
// at once would; the returned function frees them.
func (s *Server) TakeUploadSlots() func() {
	for range cap(s.uploads) {
		s.uploads <- struct{}{}
	}
	return func() {
		for range cap(s.uploads) {
			<-s.uploads
		}
	}
}

// ReturnMemory runs the burst-drain watcher with test-sized intervals.
func (s *Server) ReturnMemory(ctx context.Context, poll, idle time.Duration) {
	s.returnMemory(ctx, poll, idle)
}
