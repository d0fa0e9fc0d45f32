package recommend

import (
	"context"
	"fmt"
	"slices"
)

// TogetherGap ends a basket: events of one user with no gap longer than
// this between them (seconds) form one order or session. Events without
// times (all at zero) form one basket per user.
const TogetherGap = 30 * 60

// Together computes "frequently bought together": for every item, the n
// items that share a basket (an order or session: a user's positive
// events with no gap over TogetherGap) with it most often relative to
// chance, by lift = P(a, b) / (P(a)·P(b)) = c(a, b)·B / (c(a)·c(b)) over B
// baskets, among pairs seen in at least minSupport baskets. Lift discounts
// the bestsellers that go with everything. fn is called once per item
// with a list, best first, in dataset order.
func Together(ctx context.Context, d *Dataset, n, minSupport, workers int, fn func(item string, l NeighbourList) error) error {
	if d == nil || d.NumItems() == 0 {
		return nil
	}
	if n < 1 || minSupport < 1 {
		return fmt.Errorf("recommend: together: n %d, min support %d: %w", n, minSupport, ErrInvalidOption)
	}
	if workers < 1 {
		workers = 1
	}
	baskets := basketMatrix(d)
	if baskets.Rows == 0 {
		return nil
	}
	ib := transpose(&baskets)
	count := make([]float64, ib.Rows)
	for i := range count {
		count[i] = float64(ib.Indptr[i+1] - ib.Indptr[i])
	}
	total := float64(baskets.Rows)
	lists, err := topProducts(ctx, &ib, &baskets, n, workers, func(i, j int, co float64) float64 {
		if co < float64(minSupport) {
			return 0
		}
		return co * total / (count[i] * count[j])
	})
	if err != nil {
		return fmt.Errorf("recommend: together: %w", err)
	}
	for i := range lists.Rows {
		js, sc := lists.Row(i)
		if len(js) == 0 {
			continue
		}
		l := NeighbourList{Items: make([]string, len(js)), Scores: slices.Clone(sc)}
		for k, j := range js {
			l.Items[k] = d.ItemID(int(j))
		}
		if err := fn(d.ItemID(i), l); err != nil {
			return err
		}
	}
	return nil
}

// basketMatrix is baskets × items (distinct items, value 1) from the
// users' time-ordered positive events; baskets of one item are left out
// (they pair nothing).
func basketMatrix(d *Dataset) CSR {
	m := CSR{Cols: d.NumItems(), Indptr: []int{0}}
	var basket []int32
	flush := func() {
		slices.Sort(basket)
		basket = slices.Compact(basket)
		if len(basket) > 1 {
			m.Indices = append(m.Indices, basket...)
			for range basket {
				m.Values = append(m.Values, 1)
			}
			m.Indptr = append(m.Indptr, len(m.Indices))
			m.Rows++
		}
		basket = basket[:0]
	}
	for u := range d.NumUsers() {
		seq, times := d.UserSequence(u)
		for k, i := range seq {
			if k > 0 && times[k]-times[k-1] > TogetherGap {
				flush()
			}
			basket = append(basket, i)
		}
		flush()
	}
	return m
}
