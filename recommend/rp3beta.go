package recommend

import (
	"context"
	"fmt"
	"math"

	"github.com/vitrinehq/vitrine/ranking"
)

// RP3beta is the graph random walk of Paudel et al. (2017): from item i
// to a user who has it, to another item j of that user (three steps from
// the user, hence P³), with transition probabilities raised to alpha, and
// the arrival at j divided by popularity(j)^beta so that the walk does not
// end on the bestsellers alone. W[i,j] = Σ_u (1/deg_i)^α (1/deg_u)^α /
// deg_j^β over users with both items (positive events, as presence);
// the top K per item are kept and a user's score for j is Σ_i W[i,j] over
// the user's items. Beta = 0 is P3alpha.
type RP3Beta struct {
	cfg config
	d   *Dataset
	nbr CSR
	buf *scratch
}

// NewRP3Beta returns an unfitted model. Defaults: alpha 1, beta 0.5, 200
// neighbours.
func NewRP3Beta(opts ...Option) *RP3Beta {
	return &RP3Beta{cfg: newConfig(config{alpha: 1, beta: 0.5, neighbours: 200}, opts)}
}

// Fit implements Scorer (cost as ItemKNN's).
func (m *RP3Beta) Fit(ctx context.Context, d *Dataset) error {
	c := m.cfg
	if err := checkFit(ctx, d); err != nil {
		return fitError("rp3beta", err)
	}
	if c.neighbours < 1 || c.alpha <= 0 || c.beta < 0 {
		return fitError("rp3beta", fmt.Errorf("neighbours %d, alpha %v, beta %v: %w", c.neighbours, c.alpha, c.beta, ErrInvalidOption))
	}
	pos := positives(&d.ui)
	// user → item step: (1/deg_u)^α on every positive pair; item → user
	// step: (1/deg_i)^α.
	ui := &CSR{Rows: pos.Rows, Cols: pos.Cols, Indptr: pos.Indptr, Indices: pos.Indices, Values: make([]float64, len(pos.Values))}
	for u := range pos.Rows {
		lo, hi := pos.Indptr[u], pos.Indptr[u+1]
		w := math.Pow(1/float64(hi-lo), c.alpha)
		for n := lo; n < hi; n++ {
			ui.Values[n] = w
		}
	}
	iu := transpose(pos)
	pen := make([]float64, iu.Rows)
	for i := range iu.Rows {
		deg := float64(iu.Indptr[i+1] - iu.Indptr[i])
		w := math.Pow(1/deg, c.alpha)
		for n := iu.Indptr[i]; n < iu.Indptr[i+1]; n++ {
			iu.Values[n] = w
		}
		pen[i] = math.Pow(deg, -c.beta)
	}
	nbr, err := topProducts(ctx, &iu, ui, c.neighbours, c.workers, func(_, j int, dot float64) float64 {
		return dot * pen[j]
	})
	if err != nil {
		return fitError("rp3beta", err)
	}
	m.d, m.nbr, m.buf = d, nbr, &scratch{}
	return nil
}

// ScoreUser implements Scorer.
func (m *RP3Beta) ScoreUser(u int, dst []float64) {
	if len(dst) != m.d.NumItems() {
		panic("recommend: ScoreUser dst length is not NumItems")
	}
	items, vals := m.d.UserItems(u)
	ones := make([]float64, len(items))
	for n, v := range vals {
		if v > 0 {
			ones[n] = 1
		}
	}
	scoreNeighbours(&m.nbr, items, ones, dst)
}

// Recommend implements Scorer: only items the walk reaches score.
func (m *RP3Beta) Recommend(userID string, k int, exclude map[string]bool) []ranking.Result {
	return recommendReached(m.d, m, m.buf, "rp3beta", userID, k, exclude)
}

// SimilarItems implements ItemSimilarity: the items the walk from itemID
// ends on most.
func (m *RP3Beta) SimilarItems(itemID string, k int) []ranking.Result {
	return similarFromGraph(m.d, &m.nbr, "rp3beta", itemID, k)
}

// recommendReached is Recommend for models whose unreached items score
// 0: those are no recommendations. nil for an unfitted model or an
// unknown user.
func recommendReached(d *Dataset, s Scorer, buf *scratch, name, userID string, k int, exclude map[string]bool) []ranking.Result {
	return recommendFrom(d, s, buf, name, userID, k, exclude, true)
}

// similarFromGraph reads an item's stored neighbours, best first.
func similarFromGraph(d *Dataset, nbr *CSR, name, itemID string, k int) []ranking.Result {
	if d == nil {
		return nil
	}
	i, ok := d.ItemIndex(itemID)
	if !ok {
		return nil
	}
	js, sims := nbr.Row(i)
	out := make([]ranking.Result, 0, min(k, len(js)))
	for n := range min(k, len(js)) {
		out = append(out, ranking.Result{ProductID: d.ItemID(int(js[n])), Score: sims[n],
			Parts: []ranking.Part{{Name: name, Score: sims[n]}}})
	}
	return out
}
