package recommend

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/vitrinehq/vitrine/ranking"
)

// Popularity scores every item by its number of positive events, the same
// for every user: the baseline every model must beat and the fallback for
// users nobody knows. With a half-life, each (user, item) pair's events
// count 0.5^(age/halfLife), age measured from the pair's latest event to
// the reference time (pairs without a time are not decayed).
type Popularity struct {
	cfg    config
	d      *Dataset
	scores []float64
	buf    *scratch
}

// NewPopularity returns an unfitted model (no decay by default).
func NewPopularity(opts ...Option) *Popularity {
	return &Popularity{cfg: newConfig(config{}, opts)}
}

// Fit implements Scorer.
func (m *Popularity) Fit(ctx context.Context, d *Dataset) error {
	c := m.cfg
	if err := checkFit(ctx, d); err != nil {
		return fitError("popularity", err)
	}
	if c.halfLife < 0 {
		return fitError("popularity", fmt.Errorf("half-life %v: %w", c.halfLife, ErrInvalidOption))
	}
	now := c.now
	if now.IsZero() {
		now = d.Latest()
	}
	scores := make([]float64, d.NumItems())
	for n, i := range d.ui.Indices {
		if d.ui.Values[n] <= 0 {
			continue
		}
		w := float64(d.count[n])
		if c.halfLife > 0 && d.last[n] != 0 {
			age := float64(now.UnixNano()-d.last[n]) / float64(c.halfLife)
			w *= math.Exp2(-max(age, 0))
		}
		scores[i] += w
	}
	m.d, m.scores, m.buf = d, scores, &scratch{}
	return nil
}

// ScoreUser implements Scorer (u is ignored).
func (m *Popularity) ScoreUser(_ int, dst []float64) { copy(dst, m.scores) }

// Recommend implements Scorer. Unlike the personal models it answers
// unknown users too, with the global list (less exclude).
func (m *Popularity) Recommend(userID string, k int, exclude map[string]bool) []ranking.Result {
	if m.d == nil {
		return nil
	}
	u, ok := m.d.UserIndex(userID)
	if !ok {
		u = -1
	}
	s := m.buf.get(len(m.scores))
	defer m.buf.put(s)
	copy(s, m.scores)
	return results(m.d, "popularity", s, u, k, exclude)
}

// Scores is every item's popularity, indexed like the dataset (a copy).
func (m *Popularity) Scores() []float64 { return slices.Clone(m.scores) }

// Dataset is the dataset the model was fitted on (nil before Fit).
func (m *Popularity) Dataset() *Dataset { return m.d }
