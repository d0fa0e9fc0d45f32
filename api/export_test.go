package api

import "time"

// SweepLimiters exposes the rate-limiter sweep to the external tests.
func (s *Server) SweepLimiters(now time.Time) int { return s.sweepLimiters(now) }
