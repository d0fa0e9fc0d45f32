package metrics

import "fmt"

// Query is one user's (or one search query's) evaluation input.
type Query struct {
	ID string
	// Ranked is the system's list, best first.
	Ranked []string
	// Relevant is the ground truth (the user's test items, a query's
	// qrels). With no relevant item the query is skipped.
	Relevant Relevance
	// Scores are every candidate's scores, for AUC over the full ranking;
	// when nil AUC reads Ranked as a full ranking (strictly decreasing).
	Scores []Scored
}

// Metric is a named per-query metric. Fn's ok is false where the metric is
// undefined for a query (AUC without a non-relevant candidate); that query
// is then left out of this metric's mean only.
type Metric struct {
	Name string
	Fn   func(Query) (v float64, ok bool)
}

func always(f func([]string, Relevance, int) float64, k int) func(Query) (float64, bool) {
	return func(q Query) (float64, bool) { return f(q.Ranked, q.Relevant, k), true }
}

func name(base string, k int) string {
	if k <= 0 {
		return base
	}
	return fmt.Sprintf("%s@%d", base, k)
}

// RecallAt is Recall@k ("recall@k").
func RecallAt(k int) Metric { return Metric{name("recall", k), always(Recall, k)} }

// PrecisionAt is Precision@k ("precision@k").
func PrecisionAt(k int) Metric { return Metric{name("precision", k), always(Precision, k)} }

// NDCGAt is NDCG@k ("ndcg@k").
func NDCGAt(k int) Metric { return Metric{name("ndcg", k), always(NDCG, k)} }

// HitRateAt is HR@k ("hr@k").
func HitRateAt(k int) Metric { return Metric{name("hr", k), always(HitRate, k)} }

// MRRAt is the mean reciprocal rank cut at k ("mrr@k"; "mrr" for k <= 0).
func MRRAt(k int) Metric { return Metric{name("mrr", k), always(ReciprocalRank, k)} }

// MAPAt is mean average precision cut at k ("map@k"; "map" for k <= 0).
func MAPAt(k int) Metric { return Metric{name("map", k), always(AveragePrecision, k)} }

// AUCMetric is the per-user full-ranking AUC ("auc").
func AUCMetric() Metric {
	return Metric{"auc", func(q Query) (float64, bool) {
		s := q.Scores
		if s == nil {
			s = make([]Scored, len(q.Ranked))
			for i, id := range q.Ranked {
				s[i] = Scored{ID: id, Score: float64(-i)}
			}
		}
		return AUC(s, q.Relevant)
	}}
}

// Value is one metric's mean over the queries it was defined for.
type Value struct {
	Name string  `json:"name"`
	Mean float64 `json:"mean"`
	N    int     `json:"n"`
}

// Summary is the mean of each metric over the evaluated queries.
type Summary struct {
	// Evaluated counts queries with at least one relevant item.
	Evaluated int `json:"evaluated"`
	// Skipped counts queries with no relevant item: no metric is defined
	// for them, and counting them as zeros would mix "missed" with
	// "nothing to find".
	Skipped int     `json:"skipped"`
	Metrics []Value `json:"metrics"`
}

// Get returns a metric's mean by name.
func (s Summary) Get(name string) (float64, bool) {
	for _, v := range s.Metrics {
		if v.Name == name {
			return v.Mean, true
		}
	}
	return 0, false
}

// Evaluate averages each metric over the queries that have relevant items,
// in the order the metrics are given.
func Evaluate(qs []Query, ms []Metric) Summary {
	sums := make([]float64, len(ms))
	ns := make([]int, len(ms))
	var s Summary
	for _, q := range qs {
		if q.Relevant.Count() == 0 {
			s.Skipped++
			continue
		}
		s.Evaluated++
		for i, m := range ms {
			if v, ok := m.Fn(q); ok {
				sums[i] += v
				ns[i]++
			}
		}
	}
	s.Metrics = make([]Value, len(ms))
	for i, m := range ms {
		s.Metrics[i] = Value{Name: m.Name, N: ns[i]}
		if ns[i] > 0 {
			s.Metrics[i].Mean = sums[i] / float64(ns[i])
		}
	}
	return s
}
