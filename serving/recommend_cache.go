package serving

import (
	"context"
	"sync"

	"github.com/vitrinehq/vitrine/records"
)

// cfCache holds the active collaborative-filtering model row read last,
// keyed by its version: its params and Gram matrix are read and parsed
// once per trained model, not once per request. Every request still reads
// the active version from the database (recommendations with the user's
// factors, Factors.ActiveUserFactors, beside their other first reads;
// similar products and bought-together by Factors.ActiveCFVersion), so
// every process serves a newly activated model from its next request.
type cfCache struct {
	mu sync.Mutex
	m  records.CFModel
	ok bool
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
