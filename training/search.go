package training

import (
	"cmp"
	"context"
	"errors"
	"hash/fnv"
	"slices"

	"github.com/vitrinehq/vitrine/eval/metrics"
	"github.com/vitrinehq/vitrine/recommend"
)

// factorMethods are the registry methods the API can serve today: their
// factors go to pgvector. The search weighs every method; the served
// model is the best of these.
func factorMethods() []string { return []string{"als", "bpr"} }

// latestSplit holds out each user's latest event (by time, then input
// order) for validation when the user has at least two distinct items
// and the item is not among the user's earlier ones; everything else is
// training. Time-aware: the model is judged on what came next.
func latestSplit(evs []recommend.Interaction) (train, valid []recommend.Interaction) {
	last := map[string]int{}
	for n, e := range evs {
		if e.Value <= 0 {
			continue
		}
		if k, ok := last[e.User]; !ok || !e.Time.Before(evs[k].Time) {
			last[e.User] = n
		}
	}
	held := make([]bool, len(evs))
	items := map[string]map[string]bool{}
	for n, e := range evs {
		if last[e.User] == n {
			continue
		}
		if items[e.User] == nil {
			items[e.User] = map[string]bool{}
		}
		items[e.User][e.Item] = true
	}
	for u, n := range last {
		if len(items[u]) >= 1 && !items[u][evs[n].Item] {
			held[n] = true
		}
	}
	for n, e := range evs {
		if held[n] {
			valid = append(valid, e)
		} else {
			train = append(train, e)
		}
	}
	return train, valid
}

// maxSearchUsers bounds the users whose events the search and the blend
// tuning read: they choose settings, so a sample of users tells as much as
// all of them, and every trial's fit stays bounded whatever the shop's
// size (the choice is then fitted on every event).
const maxSearchUsers = 20_000

// sampleUsers are the events of about max of the log's users (all of them
// when there are no more), chosen by a hash of the user id so the sample
// does not depend on event order.
func sampleUsers(log *recommend.EventLog, users, most int) []recommend.Interaction {
	if users <= most {
		return log.Interactions()
	}
	limit := uint64(float64(most) / float64(users) * (1 << 32))
	var out []recommend.Interaction
	for n := range log.Len() {
		e := log.Event(n)
		h := fnv.New32a()
		_, _ = h.Write([]byte(e.User))
		if uint64(h.Sum32()) < limit {
			out = append(out, e)
		}
	}
	return out
}

// minSearchUsers is the fewest validation users a search runs on; below it
// training fits the configured settings.
const minSearchUsers = 20

// search splits the events time-aware, runs recommend.Search over every
// registry method within the budget (NDCG@10 on the latest events) and
// returns its result; ok is false when too few users can be validated.
func search(ctx context.Context, evs []recommend.Interaction, o Options) (res recommend.SearchResult, ok bool, err error) {
	train, held := latestSplit(evs)
	d, err := recommend.NewDataset(train)
	if err != nil {
		return res, false, err
	}
	var valid []recommend.ValidUser
	for _, h := range held {
		u, ok := d.UserIndex(h.User)
		i, ok2 := d.ItemIndex(h.Item)
		if ok && ok2 {
			valid = append(valid, recommend.ValidUser{User: u, Relevant: []int32{int32(i)}})
		}
	}
	if len(valid) < minSearchUsers {
		return res, false, nil
	}
	slices.SortFunc(valid, func(a, b recommend.ValidUser) int { return cmp.Compare(a.User, b.User) })
	opts := []recommend.SearchOption{recommend.WithBudget(o.Budget), recommend.WithSearchSeed(o.Seed), recommend.WithSearchCutoff(tuneK)}
	if o.Progress != nil {
		opts = append(opts, recommend.WithProgress(o.Progress))
	}
	res, err = recommend.Search(ctx, d, valid, recommend.Methods(), func(ranked []int, relevant map[int]bool) float64 {
		return metrics.IndexNDCG(ranked, relevant, tuneK)
	}, opts...)
	if errors.Is(err, recommend.ErrSearchBudget) {
		return res, false, nil // nothing measured in time: the configured settings
	}
	return res, err == nil, err
}

// servedFactor is the best factor method of a search and its settings
// ("" when the search measured none).
func servedFactor(res recommend.SearchResult) (string, recommend.Params) {
	var best recommend.Trial
	for _, m := range factorMethods() {
		if t, ok := res.BestOf(m); ok && (best.Method == "" || t.Score > best.Score) {
			best = t
		}
	}
	return best.Method, best.Params
}
