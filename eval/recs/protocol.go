package recs

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/vitrinehq/vitrine/eval/data"
	"github.com/vitrinehq/vitrine/recommend"
)

// user is one evaluated user: their dataset index, the held-out items to
// find (known to training, distinct, ascending) and the items masked on
// top of their training items (validation items when ranking for test).
type user struct {
	index    int
	relevant []int32
	mask     []int32
}

// fitted is a fitted registry model and its fit time.
type fitted struct {
	s       recommend.Scorer
	seconds float64
}

// protocol is one split prepared for evaluation: the training dataset,
// the users to rank for, and the models fitted so far.
type protocol struct {
	cfg     config
	d       *recommend.Dataset
	catalog []string  // item ids by index
	users   []user    // target users, by index (= id order)
	skipped int       // target users with nothing rankable
	pop     []float64 // p(i), for novelty
	vecs    [][]float32
	split   data.Split
	models  map[string]fitted
}

func toInteractions(xs []data.Interaction) []recommend.Interaction {
	out := make([]recommend.Interaction, len(xs))
	for i, x := range xs {
		out[i] = recommend.Interaction{User: x.User, Item: x.Item, Value: 1, Time: time.Unix(x.Time, 0)}
	}
	return out
}

func newProtocol(split data.Split, c config) (*protocol, error) {
	train := split.Train
	if c.refit && c.target == Test {
		train = slices.Concat(split.Train, split.Valid)
	}
	d, err := recommend.NewDataset(toInteractions(train))
	if err != nil {
		return nil, fmt.Errorf("recs: training part: %w", err)
	}
	p := &protocol{cfg: c, d: d, split: split, models: map[string]fitted{}}
	n := d.NumItems()
	p.catalog = make([]string, n)
	for i := range p.catalog {
		p.catalog[i] = d.ItemID(i)
	}
	counts := make([]int, n)
	for _, x := range train {
		if i, ok := d.ItemIndex(x.Item); ok {
			counts[i]++
		}
	}
	// Smoothed popularity p(i) = (count + 1) / (users + 1), as metrics.Popularity.
	p.pop = make([]float64, n)
	for i, c := range counts {
		p.pop[i] = (float64(c) + 1) / (float64(d.NumUsers()) + 1)
	}
	if c.vecs != nil {
		p.vecs = make([][]float32, n)
		for i, id := range p.catalog {
			p.vecs[i] = c.vecs[id]
		}
	}
	if c.target == Valid {
		p.users, p.skipped = p.group(split.Valid, nil)
	} else {
		p.users, p.skipped = p.group(split.Test, split.Valid)
	}
	p.users = sample(p.users, c.maxUsers)
	return p, nil
}

// group collects the users of the target part with their rankable items
// and the masked part's items; skipped counts the target's users with
// nothing rankable (unknown to training, or only items training lacks).
func (p *protocol) group(target, masked []data.Interaction) (users []user, skipped int) {
	rel, all := p.byUser(target)
	extra, _ := p.byUser(masked)
	for u, items := range rel {
		users = append(users, user{index: u, relevant: items, mask: extra[u]})
	}
	slices.SortFunc(users, func(a, b user) int { return a.index - b.index })
	return users, all - len(users)
}

// byUser maps known users to their known items (distinct, ascending); all
// counts every user id of xs.
func (p *protocol) byUser(xs []data.Interaction) (map[int][]int32, int) {
	out := map[int][]int32{}
	ids := map[string]bool{}
	for _, x := range xs {
		ids[x.User] = true
		u, ok := p.d.UserIndex(x.User)
		i, ok2 := p.d.ItemIndex(x.Item)
		if !ok || !ok2 {
			continue // an item or user unseen in training cannot be ranked
		}
		out[u] = append(out[u], int32(i))
	}
	for u, items := range out {
		slices.Sort(items)
		out[u] = slices.Compact(items)
	}
	return out, len(ids)
}

// sample keeps at most n users spread evenly over the list (0: all).
func sample(users []user, n int) []user {
	if n <= 0 || len(users) <= n {
		return users
	}
	out := make([]user, n)
	for j := range out {
		out[j] = users[j*len(users)/n]
	}
	return out
}

// model fits the registry method once.
func (p *protocol) model(ctx context.Context, name string) (fitted, error) {
	if f, ok := p.models[name]; ok {
		return f, nil
	}
	params, ok := p.cfg.perParam[name]
	if !ok {
		params = p.cfg.params
	}
	s, err := recommend.New(name, params)
	if name == Tuned {
		s, err = recommend.NewChoice(*p.cfg.choice)
	}
	if err != nil {
		return fitted{}, err
	}
	start := time.Now()
	if err := s.Fit(ctx, p.d); err != nil {
		return fitted{}, fmt.Errorf("fit %s: %w", name, err)
	}
	f := fitted{s: s, seconds: time.Since(start).Seconds()}
	p.models[name] = f
	p.cfg.log.Info("fitted", "method", name, "seconds", f.seconds)
	return f, nil
}

// release drops the fitted models no remaining method needs.
func (p *protocol) release(remaining []string) {
	need := map[string]bool{}
	for _, m := range remaining {
		need[m] = true
		if m == Hybrid {
			need[hybridCF], need["popularity"] = true, true
		}
	}
	for name := range p.models {
		if !need[name] {
			delete(p.models, name)
		}
	}
}
