package serving

import (
	"context"
	"maps"
	"slices"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/ranking"
	"github.com/vitrinehq/vitrine/records"
)

// AddEvents records valid events (a duplicate client event id is accepted
// and ignored) and folds the newly inserted ones into their users' vectors,
// so the next ranking call reflects them; their users' recommendation
// retrievals are then refreshed in the background (recommend_shared.go). It returns one result per event.
func (s *Service) AddEvents(ctx context.Context, evs []catalog.Event) ([]records.EventResult, error) {
	res, err := s.d.Events.InsertEvents(ctx, evs)
	if err != nil {
		return nil, err
	}
	var inserted []catalog.Event
	for i, r := range res {
		if r.Status == records.EventInserted && i < len(evs) {
			inserted = append(inserted, evs[i])
		}
	}
	if err := s.Learn(ctx, inserted); err != nil {
		return nil, err
	}
	s.refreshAfterEvents(inserted)
	return res, nil
}

// Learn folds events into their users' vectors in the active space, in
// time order per user (users in a fixed order, so concurrent batches lock
// them alike). Events on products without a vector change nothing.
func (s *Service) Learn(ctx context.Context, evs []catalog.Event) error {
	if len(evs) == 0 {
		return nil
	}
	sp, _, err := s.ActiveSpace(ctx)
	if err != nil {
		return err
	}
	byUser := map[string][]catalog.Event{}
	pids := make([]string, 0, len(evs))
	for _, e := range evs {
		byUser[e.UserID] = append(byUser[e.UserID], e)
		pids = append(pids, e.ProductID)
	}
	vecs, err := s.d.Vectors.ProductVectors(ctx, sp.Version, pids)
	if err != nil {
		return err
	}
	for _, u := range slices.Sorted(maps.Keys(byUser)) {
		es := byUser[u]
		slices.SortStableFunc(es, func(a, b catalog.Event) int { return a.OccurredAt.Compare(b.OccurredAt) })
		err := s.d.Users.UpdateUserVector(ctx, u, sp.Version, func(cur records.UserVector) (records.UserVector, error) {
			st := ranking.UserState{Vector: cur.Vector, Weight: cur.Weight, UpdatedAt: cur.UpdatedAt}
			for _, e := range es {
				if v, ok := vecs[e.ProductID]; ok {
					st = ranking.Update(st, v, ranking.EventWeight(e.Type, e.Value), e.OccurredAt, s.cfg.HalfLife)
				}
			}
			if st.Vector == nil {
				st.Vector = make([]float32, sp.Dim)
			}
			return records.UserVector{UserID: u, Space: sp.Version, Vector: st.Vector, Weight: st.Weight, UpdatedAt: st.UpdatedAt}, nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// ForgetUser erases everything that names the user (records.ErrNotFound
// when nothing did).
func (s *Service) ForgetUser(ctx context.Context, userID string) error {
	return s.d.Users.DeleteUser(ctx, userID)
}
