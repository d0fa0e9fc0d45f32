package recommend

import (
	"context"
	"fmt"
	"math"

	"github.com/vitrinehq/vitrine/ranking"
)

// ItemKNN is the classic item-item baseline (Sarwar et al. 2001; Deshpande
// and Karypis 2004): cosine similarity of items' user columns over the
// positive values, shrunk toward zero when few users are shared
// (sim = a·b / (|a||b| + shrink)), the top K kept per item. A user's score
// for item j is Σ_i r_ui·sim(i, j) over the user's items i that have j
// among their neighbours.
type ItemKNN struct {
	cfg config
	d   *Dataset
	nbr CSR // row i: item i's neighbours, best first, with similarities
	buf *scratch
}

// NewItemKNN returns an unfitted model. Defaults: 100 neighbours,
// shrinkage 10.
func NewItemKNN(opts ...Option) *ItemKNN {
	return &ItemKNN{cfg: newConfig(config{neighbours: 100, shrink: 10}, opts)}
}

// Fit implements Scorer: the dot products of every item with every item
// sharing a user (see topProducts for the cost).
func (m *ItemKNN) Fit(ctx context.Context, d *Dataset) error {
	c := m.cfg
	if err := checkFit(ctx, d); err != nil {
		return fitError("itemknn", err)
	}
	if c.neighbours < 1 || c.shrink < 0 {
		return fitError("itemknn", fmt.Errorf("neighbours %d, shrinkage %v: %w", c.neighbours, c.shrink, ErrInvalidOption))
	}
	ui := positives(&d.ui)
	iu := transpose(ui)
	norm := make([]float64, d.NumItems())
	for i := range norm {
		_, vals := iu.Row(i)
		var s float64
		for _, v := range vals {
			s += v * v
		}
		norm[i] = math.Sqrt(s)
	}
	nbr, err := topProducts(ctx, &iu, ui, c.neighbours, c.workers, func(i, j int, dot float64) float64 {
		return dot / (norm[i]*norm[j] + c.shrink)
	})
	if err != nil {
		return fitError("itemknn", err)
	}
	m.d, m.nbr, m.buf = d, nbr, &scratch{}
	return nil
}

// ScoreUser implements Scorer. With a recency half-life (WithRecency) the
// user's items weigh by how recently they were seen, otherwise by their
// summed values.
func (m *ItemKNN) ScoreUser(u int, dst []float64) {
	if len(dst) != m.d.NumItems() {
		panic("recommend: ScoreUser dst length is not NumItems")
	}
	var items []int32
	var weights []float64
	if m.cfg.recency > 0 {
		items, weights = make([]int32, 0, 64), make([]float64, 0, 64)
	}
	items, weights = recencyWeights(m.d, u, m.cfg.recency, items, weights)
	scoreNeighbours(&m.nbr, items, weights, dst)
}

// Recommend implements Scorer. Only items in the neighbourhoods of the
// user's items can score, so the list may be shorter than k.
func (m *ItemKNN) Recommend(userID string, k int, exclude map[string]bool) []ranking.Result {
	if m.d == nil {
		return nil
	}
	u, ok := m.d.UserIndex(userID)
	if !ok {
		return nil
	}
	s := m.buf.get(m.d.NumItems())
	defer m.buf.put(s)
	m.ScoreUser(u, s)
	// Items no neighbour list reaches score 0: not recommendations.
	for i, v := range s {
		if v == 0 {
			s[i] = math.Inf(-1)
		}
	}
	return results(m.d, "itemknn", s, u, k, exclude)
}

// SimilarItems implements ItemSimilarity: the stored neighbours (at most
// the configured number).
func (m *ItemKNN) SimilarItems(itemID string, k int) []ranking.Result {
	if m.d == nil {
		return nil
	}
	i, ok := m.d.ItemIndex(itemID)
	if !ok {
		return nil
	}
	js, sims := m.nbr.Row(i)
	if k > len(js) {
		k = len(js)
	}
	out := make([]ranking.Result, 0, k)
	for n := range k {
		if sims[n] <= 0 {
			break
		}
		out = append(out, ranking.Result{ProductID: m.d.ItemID(int(js[n])), Score: sims[n],
			Parts: []ranking.Part{{Name: "itemknn-cosine", Score: sims[n]}}})
	}
	return out
}

// Similarity is the stored similarity of b among a's neighbours (0 when b
// is not one of them).
func (m *ItemKNN) Similarity(a, b string) float64 {
	if m.d == nil {
		return 0
	}
	i, ok1 := m.d.ItemIndex(a)
	j, ok2 := m.d.ItemIndex(b)
	if !ok1 || !ok2 {
		return 0
	}
	js, sims := m.nbr.Row(i)
	for n, x := range js {
		if int(x) == j {
			return sims[n]
		}
	}
	return 0
}

// Dataset is the dataset the model was fitted on (nil before Fit).
func (m *ItemKNN) Dataset() *Dataset { return m.d }
