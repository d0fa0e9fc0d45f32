package recommend

import (
	"math"
	"slices"
)

// Weighting says how a neighbour-served method weighs a user's events
// when it sums their items' neighbour lists, so that serving, reading the
// lists back from the database, scores a user as the fitted model does.
type Weighting struct {
	// Mode is WeighValues (each item by its summed event values),
	// WeighPresence (each item with a positive sum counts 1) or
	// WeighRecency (each positive event 0.5^(age/HalfLife), age being the
	// number of the user's later events).
	Mode     string  `json:"mode"`
	HalfLife float64 `json:"half_life,omitempty"`
}

// The weightings of Weighting.Mode.
const (
	WeighValues   = "values"
	WeighPresence = "presence"
	WeighRecency  = "recency"
)

// NeighbourList is one item's stored neighbours, best first.
type NeighbourList struct {
	Items  []string
	Scores []float64
}

// HistoryEvent is one of a user's events as serving reads them, newest
// first: the item and the event's weight (ranking.EventWeight).
type HistoryEvent struct {
	Item  string
	Value float64
}

// ServedNeighbours returns, for a fitted model whose user scores are sums
// of per-item lists (itemknn, itemknn-recency, rp3beta, transitions,
// EASE), every item's top n list with the weighting of the user's events;
// ok is false for any other model. fn is called once per item with
// neighbours, in dataset order; an error from fn stops the walk. EASE's
// dense rows are cut to their n weights largest in magnitude, signed (a
// sparse approximation: with n ≥ its modelled items served scores are
// exactly the fitted ones for the items it models).
func ServedNeighbours(s Scorer, n int, fn func(item string, l NeighbourList) error) (Weighting, bool, error) {
	w, ok := ServedWeighting(s)
	if !ok {
		return w, false, nil
	}
	var d *Dataset
	var nbr *CSR
	switch m := s.(type) {
	case *ItemKNN:
		d, nbr = m.d, &m.nbr
	case *RP3Beta:
		d, nbr = m.d, &m.nbr
	case *Transitions:
		d, nbr = m.d, &m.next
	case *EASE:
		return w, true, m.eachRow(n, fn)
	}
	if d == nil {
		return w, true, nil
	}
	for i := range d.NumItems() {
		js, sc := nbr.Row(i)
		l := NeighbourList{}
		for k := range min(n, len(js)) {
			l.Items, l.Scores = append(l.Items, d.ItemID(int(js[k]))), append(l.Scores, sc[k])
		}
		if len(l.Items) == 0 {
			continue
		}
		if err := fn(d.ItemID(i), l); err != nil {
			return w, true, err
		}
	}
	return w, true, nil
}

// ServedWeighting is how a neighbour-served model (fitted or not) weighs
// a user's events; ok is false for a model not served from neighbour
// lists.
func ServedWeighting(s Scorer) (Weighting, bool) {
	switch m := s.(type) {
	case *ItemKNN:
		if m.cfg.recency > 0 {
			return Weighting{Mode: WeighRecency, HalfLife: m.cfg.recency}, true
		}
		return Weighting{Mode: WeighValues}, true
	case *RP3Beta, *EASE:
		return Weighting{Mode: WeighPresence}, true
	case *Transitions:
		return Weighting{Mode: WeighRecency, HalfLife: m.cfg.recency}, true
	}
	return Weighting{}, false
}

// eachRow is ServedNeighbours for EASE: each modelled item's n weights
// largest in magnitude, with their sign (a negative weight lowers what a
// user's item argues against, as in the fitted scores), best first.
func (m *EASE) eachRow(n int, fn func(string, NeighbourList) error) error {
	if m.d == nil {
		return nil
	}
	size := len(m.items)
	mag := make([]float64, size)
	for p, i := range m.items {
		row := m.b[p*size : (p+1)*size]
		for j, v := range row {
			mag[j] = math.Abs(float64(v))
		}
		top := TopItems(mag, n, func(j int) bool { return j == p || row[j] == 0 })
		slices.SortStableFunc(top, func(a, b int) int { return cmpFloat(float64(row[b]), float64(row[a])) })
		l := NeighbourList{}
		for _, j := range top {
			l.Items, l.Scores = append(l.Items, m.d.ItemID(int(m.items[j]))), append(l.Scores, float64(row[j]))
		}
		if len(l.Items) == 0 {
			continue
		}
		if err := fn(m.d.ItemID(int(i)), l); err != nil {
			return err
		}
	}
	return nil
}

// HistoryWeights are the weights of a user's items (history newest first)
// under w, items in first-seen order; items weighing nothing are left out.
func HistoryWeights(history []HistoryEvent, w Weighting) ([]string, []float64) {
	var items []string
	at := map[string]int{}
	var weights []float64
	add := func(item string, v float64) {
		k, ok := at[item]
		if !ok {
			k = len(items)
			at[item] = k
			items, weights = append(items, item), append(weights, 0)
		}
		weights[k] += v
	}
	age := 0
	for _, e := range history {
		switch w.Mode {
		case WeighRecency:
			if e.Value <= 0 || w.HalfLife <= 0 {
				continue
			}
			add(e.Item, math.Exp2(-float64(age)/w.HalfLife))
			age++
		default:
			add(e.Item, e.Value)
		}
	}
	outI, outW := items[:0], weights[:0]
	for k, item := range items {
		v := weights[k]
		if w.Mode == WeighPresence && v > 0 {
			v = 1
		}
		if v > 0 {
			outI, outW = append(outI, item), append(outW, v)
		}
	}
	return outI, outW
}

// NeighbourScores is what a neighbour-served model scores for a user with
// this history: Σ over the user's items i of weight_i·list_i[j] (see
// ServedNeighbours), the user's own items left out. lists holds the
// lists of the history's items (missing ones contribute nothing).
func NeighbourScores(history []HistoryEvent, w Weighting, lists map[string]NeighbourList) map[string]float64 {
	items, weights := HistoryWeights(history, w)
	out := map[string]float64{}
	for k, item := range items {
		l := lists[item]
		for n, j := range l.Items {
			out[j] += weights[k] * l.Scores[n]
		}
	}
	for _, e := range history {
		delete(out, e.Item)
	}
	return out
}

// TopScores are the k best of scores, best first, ties to the lower id;
// NaN scores are left out. Negative scores rank too (EASE's signed
// weights can leave every item of a user below zero).
func TopScores(scores map[string]float64, k int) ([]string, []float64) {
	ids := make([]string, 0, len(scores))
	for id, v := range scores {
		if !math.IsNaN(v) {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(a, b string) int {
		if c := cmpFloat(scores[b], scores[a]); c != 0 {
			return c
		}
		if a < b {
			return -1
		}
		return 1
	})
	ids = ids[:min(k, len(ids))]
	out := make([]float64, len(ids))
	for n, id := range ids {
		out[n] = scores[id]
	}
	return ids, out
}

// IsNeighbourMethod reports whether the registry method is served from
// stored neighbour lists (ServedNeighbours).
func IsNeighbourMethod(name string) bool {
	switch name {
	case "itemknn", "itemknn-recency", "rp3beta", "transitions", "ease":
		return true
	}
	return false
}

// IsFactorMethod reports whether the registry method is served from
// stored factors.
func IsFactorMethod(name string) bool { return name == "als" || name == "bpr" }
