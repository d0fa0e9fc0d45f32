// Package recommend is collaborative filtering over implicit feedback:
// a sparse interaction dataset (with each user's events in time order),
// models behind one Scorer interface and one registry (implicit ALS with
// conjugate gradient, BPR, item-item kNN, EASE, RP3beta, popularity, and
// the sequence-aware recency-weighted item-kNN, item-to-item transitions
// and session kNN), a validation search of their hyper-parameters,
// fold-in of new users, a normalised hybrid blend with a weight grid
// search, and pure re-rankers (MMR diversity, per-group caps, exposure
// fairness) with an exposure Gini. For explicit ratings, evaluated by RMSE
// and MAE, it has three RatingPredictors: the global mean, Koren's bias
// baseline and biased matrix factorisation ("SVD"). Like package ranking
// it is pure Go: it takes interactions and returns ranked results, with no
// SQL or HTTP.
//
// Models are fitted once and then read concurrently: Fit must not run at
// the same time as other calls on the same model, every other method is
// safe for concurrent use. A cancelled or failed Fit leaves the model as it
// was before the call.
package recommend

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"time"
)

// Sentinel errors, for errors.Is.
var (
	// ErrNoInteractions: nothing usable to build a dataset or fit a model.
	ErrNoInteractions = errors.New("recommend: no usable interactions")
	// ErrInvalidInteraction: an interaction without ids or with a
	// non-finite value.
	ErrInvalidInteraction = errors.New("recommend: invalid interaction")
	// ErrInvalidOption: a model or blend option out of range.
	ErrInvalidOption = errors.New("recommend: invalid option")
)

// Interaction is one implicit-feedback event: the user did something with
// the item at Time, Value saying how strongly (e.g. ranking.EventWeight:
// 0.5 for a view, 5 for a purchase, negative for a poor rating).
type Interaction struct {
	User  string
	Item  string
	Value float64
	Time  time.Time
}

// CSR is a compressed sparse row matrix: row r holds the columns
// Indices[Indptr[r]:Indptr[r+1]], ascending, with Values alongside.
type CSR struct {
	Rows, Cols int
	Indptr     []int
	Indices    []int32
	Values     []float64
}

// Row returns row r's columns and values (shared, read-only).
func (m *CSR) Row(r int) ([]int32, []float64) {
	lo, hi := m.Indptr[r], m.Indptr[r+1]
	return m.Indices[lo:hi], m.Values[lo:hi]
}

// NNZ is the number of stored entries.
func (m *CSR) NNZ() int { return len(m.Indices) }

// Dataset is the user×item interaction matrix in both directions with the
// id maps. Events of the same (user, item) pair are summed into one value
// r_ui; models turn it into a preference p = [r > 0] and a confidence
// c = 1 + alpha·|r| (Hu, Koren, Volinsky 2008) with their own alpha, so one
// dataset serves models tuned differently. Pairs that sum to zero carry no
// preference and are dropped; users and items left without pairs are not
// in the dataset. Indices follow the ids' sorted order, so the same events
// in any order give the same dataset, and lower index means lower id (which
// is how score ties are broken). A Dataset is immutable once built.
type Dataset struct {
	users, items         []string
	userIndex, itemIndex map[string]int
	ui, iu               CSR
	count                []int32 // events behind each ui entry
	last                 []int64 // latest event of each ui entry, Unix ns; 0 when no time was given
	latest               time.Time
	seq                  CSR // row u: user u's positive events' items in time order, Values their Unix seconds
}

type rawEvent struct {
	item  int32
	value float64
	at    int64
}

// NewDataset builds a dataset from events. Empty ids and NaN or infinite
// values are errors (ErrInvalidInteraction); a dataset with no pair left
// is ErrNoInteractions.
func NewDataset(events []Interaction) (*Dataset, error) {
	eu, ei, users, items, err := indexEvents(events)
	if err != nil {
		return nil, err
	}
	val, at := make([]float64, len(events)), make([]int64, len(events))
	for n, e := range events {
		val[n] = e.Value
		if !e.Time.IsZero() {
			at[n] = e.Time.UnixNano()
		}
	}
	return buildDataset(eu, ei, val, at, users, items)
}

// buildDataset is NewDataset over events given column-wise: event n is
// user users[eu[n]], item items[ei[n]], value val[n] at Unix ns at[n] (0:
// no time).
func buildDataset(eu, ei []int32, val []float64, at []int64, users, items []string) (*Dataset, error) {
	// Renumber by sorted id: the dataset then does not depend on event order.
	urank, users := sortedRanks(users)
	irank, items := sortedRanks(items)

	// Bucket events by user (counting sort), then sort and merge each row.
	nu := len(users)
	ptr := make([]int, nu+1)
	for _, u := range eu {
		ptr[urank[u]+1]++
	}
	for u := range nu {
		ptr[u+1] += ptr[u]
	}
	fill := slices.Clone(ptr[:nu])
	raw := make([]rawEvent, len(eu))
	var latest int64
	for n := range eu {
		u := urank[eu[n]]
		latest = max(latest, at[n])
		raw[fill[u]] = rawEvent{item: irank[ei[n]], value: val[n], at: at[n]}
		fill[u]++
	}
	d := &Dataset{}
	d.ui.Indptr = make([]int, 1, nu+1)
	d.seq.Indptr = make([]int, 1, nu+1)
	for u := range nu {
		d.appendSequence(raw[ptr[u]:ptr[u+1]])
		d.appendRow(raw[ptr[u]:ptr[u+1]])
	}
	if len(d.ui.Indices) == 0 {
		return nil, ErrNoInteractions
	}
	d.compact(users, items)
	if latest > 0 {
		d.latest = time.Unix(0, latest).UTC()
	}
	d.iu = transpose(&d.ui)
	return d, nil
}

// indexEvents checks the events and numbers users and items in order of
// first appearance: eu[n] and ei[n] are event n's user and item numbers.
func indexEvents(events []Interaction) (eu, ei []int32, users, items []string, err error) {
	userIdx, itemIdx := map[string]int32{}, map[string]int32{}
	eu = make([]int32, len(events))
	ei = make([]int32, len(events))
	for n, e := range events {
		if e.User == "" || e.Item == "" {
			return nil, nil, nil, nil, fmt.Errorf("interaction %d: empty user or item id: %w", n, ErrInvalidInteraction)
		}
		if math.IsNaN(e.Value) || math.IsInf(e.Value, 0) {
			return nil, nil, nil, nil, fmt.Errorf("interaction %d (%s, %s): value %v: %w", n, e.User, e.Item, e.Value, ErrInvalidInteraction)
		}
		u, ok := userIdx[e.User]
		if !ok {
			u = int32(len(users))
			userIdx[e.User] = u
			users = append(users, e.User)
		}
		i, ok := itemIdx[e.Item]
		if !ok {
			i = int32(len(items))
			itemIdx[e.Item] = i
			items = append(items, e.Item)
		}
		eu[n], ei[n] = u, i
	}
	return eu, ei, users, items, nil
}

// appendRow sorts one user's events by item, merges each item's events
// into one pair (values summed, the latest time kept; a zero sum is
// dropped) and appends the row.
func (d *Dataset) appendRow(row []rawEvent) {
	slices.SortFunc(row, func(a, b rawEvent) int { return cmp.Compare(a.item, b.item) })
	for lo := 0; lo < len(row); {
		hi, sum, last := lo, 0.0, int64(0)
		for ; hi < len(row) && row[hi].item == row[lo].item; hi++ {
			sum += row[hi].value
			last = max(last, row[hi].at)
		}
		if sum != 0 {
			d.ui.Indices = append(d.ui.Indices, row[lo].item)
			d.ui.Values = append(d.ui.Values, sum)
			d.count = append(d.count, int32(hi-lo))
			d.last = append(d.last, last)
		}
		lo = hi
	}
	d.ui.Indptr = append(d.ui.Indptr, len(d.ui.Indices))
}

// appendSequence appends one user's positive events (row in input order)
// to the sequences, ordered by time, ties in input order.
func (d *Dataset) appendSequence(row []rawEvent) {
	lo := len(d.seq.Indices)
	for _, e := range row {
		if e.value > 0 {
			d.seq.Indices = append(d.seq.Indices, e.item)
			d.seq.Values = append(d.seq.Values, float64(e.at/int64(time.Second)))
		}
	}
	seq := seqSorter{d.seq.Indices[lo:], d.seq.Values[lo:]}
	sort.Stable(seq)
	d.seq.Indptr = append(d.seq.Indptr, len(d.seq.Indices))
}

// seqSorter orders one user's sequence by time.
type seqSorter struct {
	items []int32
	times []float64
}

func (s seqSorter) Len() int           { return len(s.items) }
func (s seqSorter) Less(a, b int) bool { return s.times[a] < s.times[b] }
func (s seqSorter) Swap(a, b int) {
	s.items[a], s.items[b] = s.items[b], s.items[a]
	s.times[a], s.times[b] = s.times[b], s.times[a]
}

// sortedRanks maps first-seen indices to sorted-id ranks.
func sortedRanks(ids []string) ([]int32, []string) {
	order := make([]int32, len(ids))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return cmp.Compare(ids[a], ids[b]) })
	rank := make([]int32, len(ids))
	sorted := make([]string, len(ids))
	for r, i := range order {
		rank[i] = int32(r)
		sorted[r] = ids[i]
	}
	return rank, sorted
}

// compact drops users and items whose every pair summed to zero and sets
// the id maps.
func (d *Dataset) compact(users, items []string) {
	keepItem := make([]int32, len(items))
	for _, i := range d.ui.Indices {
		keepItem[i] = 1
	}
	var ni int32
	for i, k := range keepItem {
		if k == 0 {
			keepItem[i] = -1
			continue
		}
		keepItem[i] = ni
		d.items = append(d.items, items[i])
		ni++
	}
	if int(ni) != len(items) {
		for n, i := range d.ui.Indices {
			d.ui.Indices[n] = keepItem[i]
		}
	}
	ptr := make([]int, 1, len(users)+1)
	var seq CSR
	seq.Indptr = make([]int, 1, len(users)+1)
	for u := range users {
		if d.ui.Indptr[u+1] > d.ui.Indptr[u] {
			d.users = append(d.users, users[u])
			ptr = append(ptr, d.ui.Indptr[u+1])
			for n := d.seq.Indptr[u]; n < d.seq.Indptr[u+1]; n++ {
				// an item whose every pair summed to zero is gone
				if i := keepItem[d.seq.Indices[n]]; i >= 0 {
					seq.Indices = append(seq.Indices, i)
					seq.Values = append(seq.Values, d.seq.Values[n])
				}
			}
			seq.Indptr = append(seq.Indptr, len(seq.Indices))
		}
	}
	d.ui.Indptr = ptr
	seq.Rows, seq.Cols = len(d.users), int(ni)
	d.seq = seq
	d.ui.Rows, d.ui.Cols = len(d.users), len(d.items)
	d.userIndex = make(map[string]int, len(d.users))
	for u, id := range d.users {
		d.userIndex[id] = u
	}
	d.itemIndex = make(map[string]int, len(d.items))
	for i, id := range d.items {
		d.itemIndex[id] = i
	}
}

// transpose returns m's transpose (rows sorted, as CSR requires).
func transpose(m *CSR) CSR {
	t := CSR{Rows: m.Cols, Cols: m.Rows, Indptr: make([]int, m.Cols+1)}
	for _, c := range m.Indices {
		t.Indptr[c+1]++
	}
	for c := range m.Cols {
		t.Indptr[c+1] += t.Indptr[c]
	}
	t.Indices = make([]int32, len(m.Indices))
	t.Values = make([]float64, len(m.Values))
	fill := slices.Clone(t.Indptr[:m.Cols])
	for r := range m.Rows {
		for n := m.Indptr[r]; n < m.Indptr[r+1]; n++ {
			c := m.Indices[n]
			t.Indices[fill[c]] = int32(r)
			t.Values[fill[c]] = m.Values[n]
			fill[c]++
		}
	}
	return t
}

// NumUsers is the number of users.
func (d *Dataset) NumUsers() int { return len(d.users) }

// NumItems is the number of items; ScoreUser's dst has this length.
func (d *Dataset) NumItems() int { return len(d.items) }

// NNZ is the number of (user, item) pairs.
func (d *Dataset) NNZ() int { return len(d.ui.Indices) }

// UserID is user index u's id.
func (d *Dataset) UserID(u int) string { return d.users[u] }

// ItemID is item index i's id.
func (d *Dataset) ItemID(i int) string { return d.items[i] }

// UserIndex is the index of a user id.
func (d *Dataset) UserIndex(id string) (int, bool) {
	u, ok := d.userIndex[id]
	return u, ok
}

// ItemIndex is the index of an item id.
func (d *Dataset) ItemIndex(id string) (int, bool) {
	i, ok := d.itemIndex[id]
	return i, ok
}

// UserItems is user u's items (ascending) and summed values, read-only.
func (d *Dataset) UserItems(u int) ([]int32, []float64) { return d.ui.Row(u) }

// ItemUsers is item i's users (ascending) and summed values, read-only.
func (d *Dataset) ItemUsers(i int) ([]int32, []float64) { return d.iu.Row(i) }

// Matrix is the user×item CSR of summed values (read-only).
func (d *Dataset) Matrix() *CSR { return &d.ui }

// UserSequence is user u's events with a positive value, in time order
// (events at the same time, or without one, in input order): the items,
// repeats kept, and their times in Unix seconds (0 when not given).
// Read-only. Sequence-aware models read it.
func (d *Dataset) UserSequence(u int) ([]int32, []float64) { return d.seq.Row(u) }

// Latest is the time of the newest event (zero when no event had one).
func (d *Dataset) Latest() time.Time { return d.latest }

// HoldOut splits events for validation: for each user with more than n
// distinct items, n of them chosen at random (seeded) go to test with all
// their events; everything else is train. Users keep at least one train
// item, so every test user is known to a model fitted on train.
func HoldOut(events []Interaction, n int, seed uint64) (train, test []Interaction) {
	byUser := map[string][]int{}
	for k, e := range events {
		byUser[e.User] = append(byUser[e.User], k)
	}
	users := make([]string, 0, len(byUser))
	for u := range byUser {
		users = append(users, u)
	}
	slices.Sort(users) // map order is random; the split must not be
	rng := rand.New(rand.NewPCG(seed, 0x686f6c646f7574))
	held := make([]bool, len(events))
	for _, u := range users {
		idx := byUser[u]
		var items []string
		seen := map[string]bool{}
		for _, k := range idx {
			if it := events[k].Item; !seen[it] {
				seen[it] = true
				items = append(items, it)
			}
		}
		if len(items) <= n {
			continue
		}
		slices.Sort(items)
		rng.Shuffle(len(items), func(a, b int) { items[a], items[b] = items[b], items[a] })
		out := map[string]bool{}
		for _, it := range items[:n] {
			out[it] = true
		}
		for _, k := range idx {
			held[k] = out[events[k].Item]
		}
	}
	for k, e := range events {
		if held[k] {
			test = append(test, e)
		} else {
			train = append(train, e)
		}
	}
	return train, test
}
