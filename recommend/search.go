package recommend

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// ErrSearchBudget: the search's budget ran out before any trial finished,
// so there is nothing to choose from.
var ErrSearchBudget = errors.New("recommend: no trial finished within the search budget")

// ValidUser is one validation user of a search: their dataset index and
// the held-out items to find (dataset indices). Their items in the
// dataset are masked when ranking.
type ValidUser struct {
	User     int
	Relevant []int32
}

// Trial is one evaluated setting of a method.
type Trial struct {
	Method string  `json:"method"`
	Params Params  `json:"params"`
	Score  float64 `json:"score"` // mean validation metric
	Users  int     `json:"users"` // validation users it was measured on
}

// Component is one method of a Choice with its blend weight.
type Component struct {
	Method string  `json:"method"`
	Params Params  `json:"params"`
	Weight float64 `json:"weight"`
}

// Choice is what a search chose: one method (one component, weight 1) or
// a blend of several, with its validation score. NewChoice builds it.
type Choice struct {
	Components []Component `json:"components"`
	Score      float64     `json:"score"`
}

// String names the choice: the method, or "blend(a 0.5, b 1)".
func (c Choice) String() string {
	if len(c.Components) == 1 {
		return c.Components[0].Method
	}
	s := "blend("
	for n, x := range c.Components {
		if n > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s %g", x.Method, x.Weight)
	}
	return s + ")"
}

// SearchResult is a search's outcome: the best setting of every method
// (in the order searched), every trial, and the choice (the best method,
// or the blend of the best methods when it validates better).
type SearchResult struct {
	Best    []Trial       `json:"best"`
	Trials  []Trial       `json:"trials"`
	Choice  Choice        `json:"choice"`
	Elapsed time.Duration `json:"elapsed"`
}

// BestOf is the best trial of a method (false when it was not searched).
func (r SearchResult) BestOf(method string) (Trial, bool) {
	for _, t := range r.Best {
		if t.Method == method {
			return t, true
		}
	}
	return Trial{}, false
}

// SearchOption configures Search.
type SearchOption func(*searchConfig)

type searchConfig struct {
	budget     time.Duration
	cutoff     int
	workers    int
	seed       uint64
	blendTop   int
	blendUsers int
	base       Params
	firstRung  int
	onProgress func(Trial)
}

// WithBudget sets the search's wall-clock budget (default 3 minutes),
// shared equally by the methods not yet searched but for the sixth kept
// for the blend. It is a deadline on the
// context every fit and evaluation runs under, so a trial still running
// when its time is up stops mid-way and is dropped: a method's defaults
// may take up to twice its share (never past the budget), other settings
// its share, and the search returns about when the budget ends.
func WithBudget(d time.Duration) SearchOption { return func(c *searchConfig) { c.budget = d } }

// WithSearchCutoff sets the ranking depth the metric sees (default 10).
func WithSearchCutoff(k int) SearchOption { return func(c *searchConfig) { c.cutoff = k } }

// WithSearchWorkers sets the goroutines that score users (default
// GOMAXPROCS, also handed to the models).
func WithSearchWorkers(n int) SearchOption { return func(c *searchConfig) { c.workers = n } }

// WithSearchSeed seeds the order grid points are tried in and the models.
func WithSearchSeed(s uint64) SearchOption { return func(c *searchConfig) { c.seed = s } }

// WithBlendOf sets how many of the best methods the blend may combine
// (default 4; below 2: no blend).
func WithBlendOf(n int) SearchOption { return func(c *searchConfig) { c.blendTop = n } }

// WithBlendUsers sets the most validation users the blend weights are
// tuned on (default 20,000, as many as training's search samples): up to
// it every validation user, the users the methods' scores are over; above
// it a spread sample, and the blend found is then measured on every user.
func WithBlendUsers(n int) SearchOption { return func(c *searchConfig) { c.blendUsers = n } }

// WithBaseParams sets fields every trial keeps (e.g. EASE's MaxItems).
func WithBaseParams(p Params) SearchOption { return func(c *searchConfig) { c.base = p } }

// WithProgress calls fn after every trial.
func WithProgress(fn func(Trial)) SearchOption { return func(c *searchConfig) { c.onProgress = fn } }

// Search chooses hyper-parameters on validation users by full ranking:
// every item of d scored, the user's own items masked, metric at the
// cutoff. For each method it tries the defaults, then points of a log grid
// around them (SearchGrid) in a seeded random order, on a first rung of at
// most 1,000 users, while the method's share of the budget lasts; the
// best third of them (at least one, at most three) are then measured on
// every validation user (successive halving). Finally the best blendable
// methods (Blendable: those the API serves as components) are blended
// (Ensemble, weights chosen one method at a time by coordinate search
// from the best method alone, on the same validation users up to
// WithBlendUsers), and the blend is the choice only when it beats the best
// single method on every validation user. A trial
// records the settings it ran with: EASE's max_items is the number of
// items it modelled once a deadline capped it.
func Search(ctx context.Context, d *Dataset, valid []ValidUser, methods []string, metric Metric, opts ...SearchOption) (SearchResult, error) {
	c := searchConfig{budget: 3 * time.Minute, cutoff: 10, blendTop: 4, blendUsers: blendUsers, seed: 1, firstRung: 1000}
	for _, o := range opts {
		o(&c)
	}
	if c.workers <= 0 {
		c.workers = newConfig(config{}, nil).workers
	}
	if d == nil || len(valid) == 0 || len(methods) == 0 || metric == nil || c.cutoff < 1 || c.blendUsers < 1 {
		return SearchResult{}, fmt.Errorf("recommend: search: %d validation users, %d methods: %w", len(valid), len(methods), ErrInvalidOption)
	}
	start := time.Now()
	ctx, cancel := context.WithDeadline(ctx, start.Add(c.budget))
	defer cancel()
	var res SearchResult
	fits := map[string]Scorer{}
	methodsEnd := start.Add(c.budget - c.budget/blendReserve) // the rest is the blend's
	for n, name := range methods {
		share := time.Until(methodsEnd) / time.Duration(len(methods)-n)
		best, trials, model, err := searchMethod(ctx, d, valid, name, metric, c, share)
		if err != nil {
			return SearchResult{}, err
		}
		res.Trials = append(res.Trials, trials...)
		if model != nil {
			res.Best = append(res.Best, best)
			fits[name] = model
		}
	}
	if len(res.Best) == 0 {
		return SearchResult{}, fmt.Errorf("%d methods in %v: %w", len(methods), c.budget, ErrSearchBudget)
	}
	choice, err := chooseBlend(ctx, d, valid, res.Best, fits, metric, c)
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
		choice, err = bestSingle(res.Best), nil // no time left to blend
	}
	if err != nil {
		return SearchResult{}, err
	}
	res.Choice, res.Elapsed = choice, time.Since(start)
	return res, nil
}

// blendReserve: the last 1/blendReserve of the budget is kept for
// blending the best methods, so a search that uses its budget still
// blends.
const blendReserve = 6

// expired reports whether err is a trial cut short by its deadline (not a
// cancellation of the whole search by the caller).
func expired(err error) bool { return errors.Is(err, context.DeadlineExceeded) }

// searchMethod runs one method's successive halving within share (twice
// that for its defaults, the first point); it returns the best trial,
// every finished trial and the best setting's fitted model (nil when no
// trial finished in time).
func searchMethod(ctx context.Context, d *Dataset, valid []ValidUser, name string, metric Metric, c searchConfig, share time.Duration) (Trial, []Trial, Scorer, error) {
	grid, err := SearchGrid(name, c.base)
	if err != nil {
		return Trial{}, nil, nil, err
	}
	rng := rand.New(rand.NewPCG(c.seed, 0x73656172))
	rest := grid[1:]
	rng.Shuffle(len(rest), func(a, b int) { rest[a], rest[b] = rest[b], rest[a] })
	rung := spread(valid, c.firstRung)
	type cand struct {
		t Trial
		m Scorer
	}
	var tried []cand
	var trials []Trial
	until := time.Now().Add(share)
	for n, p := range grid {
		limit := until
		if n == 0 {
			limit = until.Add(share)
		} else if time.Now().After(until) {
			break
		}
		p.Seed = c.seed
		tctx, cancel := context.WithDeadline(ctx, limit)
		m, score, err := trial(tctx, d, rung, name, p, metric, c)
		cancel()
		if expired(err) {
			continue // out of time mid-way: the setting is not measured
		}
		if err != nil {
			return Trial{}, nil, nil, err
		}
		if e, ok := m.(*EASE); ok {
			p.MaxItems = len(e.items) // what ran, when the deadline capped it
		}
		t := Trial{Method: name, Params: p, Score: score, Users: len(rung)}
		trials = append(trials, t)
		if c.onProgress != nil {
			c.onProgress(t)
		}
		tried = append(tried, cand{t, m})
		slices.SortStableFunc(tried, func(a, b cand) int { return -cmpFloat(a.t.Score, b.t.Score) })
		tried = tried[:min(len(tried), 3)] // only the survivors' models stay in memory
	}
	if len(tried) == 0 {
		if err := ctx.Err(); !expired(err) {
			return Trial{}, nil, nil, err
		}
		return Trial{}, nil, nil, nil
	}
	keep := tried[:max(1, min(len(tried), (len(trials)+2)/3))]
	if len(rung) < len(valid) {
		for k := range keep {
			score, err := evalScorer(ctx, d, valid, keep[k].m, metric, c)
			if expired(err) {
				break // the rung's scores stand
			}
			if err != nil {
				return Trial{}, nil, nil, err
			}
			keep[k].t.Score, keep[k].t.Users = score, len(valid)
			trials = append(trials, keep[k].t)
		}
		slices.SortStableFunc(keep, func(a, b cand) int {
			return cmp.Or(-cmp.Compare(a.t.Users, b.t.Users), -cmpFloat(a.t.Score, b.t.Score))
		})
	}
	err = ctx.Err()
	if expired(err) {
		err = nil
	}
	return keep[0].t, trials, keep[0].m, err
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// spread keeps at most n users, evenly spread over the list.
func spread(users []ValidUser, n int) []ValidUser {
	if len(users) <= n {
		return users
	}
	out := make([]ValidUser, n)
	for j := range out {
		out[j] = users[j*len(users)/n]
	}
	return out
}

// trial fits one setting and measures it; both stop when ctx is done.
func trial(ctx context.Context, d *Dataset, users []ValidUser, name string, p Params, metric Metric, c searchConfig) (Scorer, float64, error) {
	p.Workers = c.workers // not recorded: results do not depend on it
	m, err := New(name, p)
	if err != nil {
		return nil, 0, err
	}
	if err := m.Fit(ctx, d); err != nil {
		return nil, 0, fmt.Errorf("search %s %+v: %w", name, p, err)
	}
	score, err := evalScorer(ctx, d, users, m, metric, c)
	return m, score, err
}

// evalScorer is the mean metric of m's full rankings over the users; it
// stops with ctx's error when ctx is done first.
func evalScorer(ctx context.Context, d *Dataset, users []ValidUser, m Scorer, metric Metric, c searchConfig) (float64, error) {
	per := make([]float64, len(users))
	bufs := make([][]float64, c.workers)
	err := parallelFor(ctx, len(users), c.workers, 8, func(w, lo, hi int) {
		if bufs[w] == nil {
			bufs[w] = make([]float64, d.NumItems())
		}
		for k := lo; k < hi; k++ {
			u := users[k]
			m.ScoreUser(u.User, bufs[w])
			per[k] = metric(TopItems(bufs[w], c.cutoff, ownItems(d, u.User)), relevantSet(u.Relevant))
		}
	})
	if err != nil {
		return 0, err
	}
	var sum float64
	for _, v := range per {
		sum += v
	}
	return sum / float64(len(users)), nil
}

// ownItems reports user u's items in d.
func ownItems(d *Dataset, u int) func(int) bool {
	own, _ := d.UserItems(u)
	return func(i int) bool { _, found := searchInt32(own, int32(i)); return found }
}

func relevantSet(items []int32) map[int]bool {
	rel := make(map[int]bool, len(items))
	for _, i := range items {
		rel[int(i)] = true
	}
	return rel
}
