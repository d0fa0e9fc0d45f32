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

// Fit implements Scorer. For each item it accumulates the dot products
// with every item sharing a user (a sparse row times the matrix), which is
// O(Σ_u n_u²) in all: fine for e-commerce baskets, costly for users with
// tens of thousands of events.
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
	ni := d.NumItems()
	norm := make([]float64, ni)
	for i := range ni {
		_, vals := iu.Row(i)
		var s float64
		for _, v := range vals {
			s += v * v
		}
		norm[i] = math.Sqrt(s)
	}
	lists := make([][]int32, ni)
	sims := make([][]float64, ni)
	type work struct {
		acc     []float64
		touched []int32
		heap    topHeap
	}
	ws := make([]*work, c.workers)
	for w := range ws {
		ws[w] = &work{acc: make([]float64, ni), heap: topHeap{k: c.neighbours}}
	}
	err := parallelFor(ctx, ni, c.workers, 16, func(w, lo, hi int) {
		s := ws[w]
		for i := lo; i < hi; i++ {
			users, uv := iu.Row(i)
			for n, u := range users {
				items, iv := ui.Row(int(u))
				for m, j := range items {
					if s.acc[j] == 0 {
						s.touched = append(s.touched, j)
					}
					s.acc[j] += uv[n] * iv[m]
				}
			}
			for _, j := range s.touched {
				if int(j) != i {
					s.heap.push(j, s.acc[j]/(norm[i]*norm[j]+c.shrink))
				}
				s.acc[j] = 0
			}
			s.touched = s.touched[:0]
			top, sc := s.heap.drain()
			lists[i] = make([]int32, len(top))
			for n, j := range top {
				lists[i][n] = int32(j)
			}
			sims[i] = sc
		}
	})
	if err != nil {
		return fitError("itemknn", err)
	}
	nbr := CSR{Rows: ni, Cols: ni, Indptr: make([]int, 1, ni+1)}
	for i := range ni {
		nbr.Indices = append(nbr.Indices, lists[i]...)
		nbr.Values = append(nbr.Values, sims[i]...)
		nbr.Indptr = append(nbr.Indptr, len(nbr.Indices))
	}
	m.d, m.nbr, m.buf = d, nbr, &scratch{}
	return nil
}

// ScoreUser implements Scorer.
func (m *ItemKNN) ScoreUser(u int, dst []float64) {
	if len(dst) != m.d.NumItems() {
		panic("recommend: ScoreUser dst length is not NumItems")
	}
	clear(dst)
	items, vals := m.d.UserItems(u)
	for n, i := range items {
		if vals[n] <= 0 {
			continue
		}
		js, sims := m.nbr.Row(int(i))
		for q, j := range js {
			dst[j] += vals[n] * sims[q]
		}
	}
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
