package data

import (
	"cmp"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
)

// Split is a dataset divided for training, model selection and testing.
type Split struct {
	Train []Interaction `json:"train"`
	Valid []Interaction `json:"valid"`
	Test  []Interaction `json:"test"`
	// TrainUntil and ValidUntil are a temporal split's cutoffs: train holds
	// times <= TrainUntil, valid times in (TrainUntil, ValidUntil], test the
	// rest. Zero for the other methods.
	TrainUntil int64 `json:"train_until,omitempty"`
	ValidUntil int64 `json:"valid_until,omitempty"`
}

// Method names a splitting strategy.
type Method string

// The splitting methods.
const (
	// Random splits each user's interactions 8:1:1 after shuffling them
	// (RecBole's default, "RS" with ratios [0.8, 0.1, 0.1]); users with
	// fewer than 3 interactions stay whole in train.
	Random Method = "random"
	// LeaveOneOut puts each user's last interaction by time in test and the
	// one before in valid.
	LeaveOneOut Method = "leave-one-out"
	// Temporal cuts the whole dataset at two points in time so that 80%,
	// 10% and 10% of interactions fall before, between and after them.
	Temporal Method = "temporal"
)

// DefaultRatios are train, valid and test shares (RecBole's default).
var DefaultRatios = [3]float64{0.8, 0.1, 0.1}

// ErrSplit reports a split that cannot be made as asked.
var ErrSplit = errors.New("cannot split")

// ParseMethod checks a method name.
func ParseMethod(s string) (Method, error) {
	switch m := Method(strings.ToLower(s)); m {
	case Random, LeaveOneOut, Temporal:
		return m, nil
	}
	return "", fmt.Errorf("%w: unknown method %q (want random, leave-one-out or temporal)", ErrSplit, s)
}

// SplitBy splits d with a method and its default ratios; seed makes the
// random split reproducible (the others ignore it).
func SplitBy(d Dataset, m Method, seed uint64) (Split, error) {
	switch m {
	case Random:
		return RandomSplit(d.Interactions, DefaultRatios, seed)
	case LeaveOneOut:
		return LeaveOneOutSplit(d), nil
	case Temporal:
		return TemporalSplit(d, DefaultRatios)
	}
	_, err := ParseMethod(string(m))
	return Split{}, err
}

// ByUser groups interactions by user, each user's in input order.
func ByUser(xs []Interaction) map[string][]Interaction {
	out := map[string][]Interaction{}
	for _, x := range xs {
		out[x.User] = append(out[x.User], x)
	}
	return out
}

// users returns the user ids in sorted order, so every split lists users
// the same way however the file was ordered.
func users(g map[string][]Interaction) []string {
	us := make([]string, 0, len(g))
	for u := range g {
		us = append(us, u)
	}
	slices.Sort(us)
	return us
}

func normalise(r [3]float64) ([3]float64, error) {
	sum := 0.0
	for _, x := range r {
		if x < 0 || math.IsNaN(x) || math.IsInf(x, 0) {
			return r, fmt.Errorf("%w: ratios %v must be finite and non-negative", ErrSplit, r)
		}
		sum += x
	}
	if sum == 0 {
		return r, fmt.Errorf("%w: ratios %v sum to 0", ErrSplit, r)
	}
	for i := range r {
		r[i] /= sum
	}
	return r, nil
}

// splitCounts is RecBole's _calcu_split_ids: floor each share, give train
// the remainder, then move one item from train to each other part whose
// share is below one item, while train keeps more than one. For 8:1:1 this
// gives 3 -> 1/1/1, 10 -> 8/1/1, 11 -> 9/1/1.
func splitCounts(n int, r [3]float64) [3]int {
	var c [3]int
	for i := 1; i < 3; i++ {
		c[i] = int(r[i] * float64(n))
	}
	c[0] = n - c[1] - c[2]
	for i := 2; i >= 1; i-- {
		if c[0] <= 1 {
			break
		}
		if s := r[i] * float64(n); s > 0 && s < 1 {
			c[i]++
			c[0]--
		}
	}
	return c
}

// userSeed derives a user's own stream from the seed, so a user's split
// does not change when other users are added or removed.
func userSeed(user string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(user))
	return h.Sum64()
}

// RandomSplit shuffles each user's interactions with the seed and splits
// them by ratios (train, valid, test) as RecBole does; users with fewer
// than 3 interactions go to train whole, since they cannot be in all three.
// Each user's interactions are first put in a canonical order (time, item,
// rating), so the result depends on the seed and the data, not on the
// order of the file.
func RandomSplit(xs []Interaction, ratios [3]float64, seed uint64) (Split, error) {
	r, err := normalise(ratios)
	if err != nil {
		return Split{}, err
	}
	var s Split
	g := ByUser(xs)
	for _, u := range users(g) {
		ux := g[u]
		slices.SortStableFunc(ux, func(a, b Interaction) int {
			return cmp.Or(cmp.Compare(a.Time, b.Time), cmp.Compare(a.Item, b.Item), cmp.Compare(a.Rating, b.Rating))
		})
		if len(ux) < 3 {
			s.Train = append(s.Train, ux...)
			continue
		}
		rng := rand.New(rand.NewPCG(seed, userSeed(u)))
		rng.Shuffle(len(ux), func(i, j int) { ux[i], ux[j] = ux[j], ux[i] })
		c := splitCounts(len(ux), r)
		s.Train = append(s.Train, ux[:c[0]]...)
		s.Valid = append(s.Valid, ux[c[0]:c[0]+c[1]]...)
		s.Test = append(s.Test, ux[c[0]+c[1]:]...)
	}
	return s, nil
}

// LeaveOneOutSplit puts each user's last interaction in test and the one
// before it in valid, the rest in train, ordering by time (ties, and files
// without times, keep file order). As in RecBole, a user with one
// interaction keeps it in train, and one with two has no valid item.
func LeaveOneOutSplit(d Dataset) Split {
	var s Split
	g := ByUser(d.Interactions)
	for _, u := range users(g) {
		ux := g[u]
		if d.HasTime {
			slices.SortStableFunc(ux, func(a, b Interaction) int { return cmp.Compare(a.Time, b.Time) })
		}
		n := len(ux)
		switch {
		case n == 1:
			s.Train = append(s.Train, ux...)
		case n == 2:
			s.Train = append(s.Train, ux[0])
			s.Test = append(s.Test, ux[1])
		default:
			s.Train = append(s.Train, ux[:n-2]...)
			s.Valid = append(s.Valid, ux[n-2])
			s.Test = append(s.Test, ux[n-1])
		}
	}
	return s
}

// ErrNoTime reports a temporal split of a file without timestamps.
var ErrNoTime = errors.New("the interactions have no timestamps")

// TemporalSplit cuts all interactions at two global times: the 80% first
// by time (per ratios) are train, the next 10% valid, the last 10% test.
// Interactions at the same time as a cutoff stay with the earlier part, so
// every test interaction is strictly later than every training one and
// nothing from the future leaks into training; with coarse timestamps the
// parts therefore differ a little from the ratios.
func TemporalSplit(d Dataset, ratios [3]float64) (Split, error) {
	if !d.HasTime {
		return Split{}, fmt.Errorf("%w: %w", ErrSplit, ErrNoTime)
	}
	r, err := normalise(ratios)
	if err != nil {
		return Split{}, err
	}
	xs := slices.Clone(d.Interactions)
	slices.SortStableFunc(xs, func(a, b Interaction) int { return cmp.Compare(a.Time, b.Time) })
	n := len(xs)
	var s Split
	if n == 0 {
		return s, nil
	}
	c := splitCounts(n, r)
	// The last time of the train and valid shares (the prefix of c[0], then
	// c[0]+c[1] interactions); an empty share cuts where the one before did.
	cutAt := func(m int) int64 {
		if m == 0 {
			return math.MinInt64
		}
		return xs[m-1].Time
	}
	s.TrainUntil = cutAt(c[0])
	s.ValidUntil = max(cutAt(c[0]+c[1]), s.TrainUntil)
	for _, x := range xs {
		switch {
		case x.Time <= s.TrainUntil:
			s.Train = append(s.Train, x)
		case x.Time <= s.ValidUntil:
			s.Valid = append(s.Valid, x)
		default:
			s.Test = append(s.Test, x)
		}
	}
	return s, nil
}
