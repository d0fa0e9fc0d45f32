// Package metrics computes the offline evaluation metrics of search and
// recommendation: ranking accuracy per user or query (Recall, Precision,
// NDCG, hit rate, MRR, MAP, AUC), rating error (RMSE, MAE) and
// beyond-accuracy figures over all users' lists (item coverage, exposure
// Gini, novelty).
//
// Conventions follow RecBole where recommender-system libraries differ
// (Precision@K divides by K, MAP@K by min(K, relevant items)), and trec_eval
// for NDCG's gain (the grade itself), so figures can be compared with
// published ones. Every per-user metric is defined only for users with at
// least one relevant item; Evaluate skips the others and says how many.
package metrics

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
)

// Relevance maps item ids to graded relevance; a grade above zero makes an
// item relevant. Binary metrics (Recall, Precision, HR, MRR, MAP, AUC) use
// only that; NDCG uses the grade as gain.
type Relevance map[string]float64

// Count is the number of relevant items (grade > 0).
func (r Relevance) Count() int {
	n := 0
	for _, g := range r {
		if g > 0 {
			n++
		}
	}
	return n
}

func (r Relevance) relevant(id string) bool { return r[id] > 0 }

// Scored is an item with a model score (higher is better).
type Scored struct {
	ID    string  `json:"id"`
	Score float64 `json:"score"`
}

// Rank orders items best first. Equal scores are ordered by id so that a
// ranking, and every metric read from it, is reproducible run to run.
func Rank(items []Scored) []string {
	s := slices.Clone(items)
	slices.SortStableFunc(s, func(a, b Scored) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = x.ID
	}
	return out
}

// cut is the top k of a ranking; k <= 0 means the whole ranking.
func cut(ranked []string, k int) []string {
	if k <= 0 || k > len(ranked) {
		return ranked
	}
	return ranked[:k]
}

// walk calls fn for each position (1-based) of the top k holding a relevant
// item. A repeated id counts once, at its first position: a list that
// repeats an item must not earn credit twice for it.
func walk(ranked []string, rel Relevance, k int, fn func(pos int, id string)) {
	var seen map[string]bool
	for i, id := range cut(ranked, k) {
		if !rel.relevant(id) {
			continue
		}
		if seen[id] {
			continue
		}
		if seen == nil {
			seen = map[string]bool{}
		}
		seen[id] = true
		fn(i+1, id)
	}
}

func hits(ranked []string, rel Relevance, k int) int {
	n := 0
	walk(ranked, rel, k, func(int, string) { n++ })
	return n
}

// Recall is the share of relevant items found in the top k.
func Recall(ranked []string, rel Relevance, k int) float64 {
	n := rel.Count()
	if n == 0 {
		return 0
	}
	return float64(hits(ranked, rel, k)) / float64(n)
}

// Precision is the share of the top k that is relevant. It divides by k,
// not by the list's length, so a short list is not rewarded for stopping
// early; k <= 0 divides by the list's length.
func Precision(ranked []string, rel Relevance, k int) float64 {
	d := k
	if k <= 0 {
		d = len(ranked)
	}
	if d == 0 {
		return 0
	}
	return float64(hits(ranked, rel, k)) / float64(d)
}

// HitRate is 1 when the top k holds a relevant item, else 0.
func HitRate(ranked []string, rel Relevance, k int) float64 {
	if hits(ranked, rel, k) > 0 {
		return 1
	}
	return 0
}

// ReciprocalRank is 1/position of the first relevant item in the top k, or
// 0 when there is none (the per-user term of MRR).
func ReciprocalRank(ranked []string, rel Relevance, k int) float64 {
	rr := 0.0
	walk(ranked, rel, k, func(pos int, _ string) {
		if rr == 0 {
			rr = 1 / float64(pos)
		}
	})
	return rr
}

// AveragePrecision is the mean of precision at each relevant item's
// position in the top k, over min(k, relevant items) so that a perfect top
// k scores 1 (RecBole's MAP@K); k <= 0 divides by all relevant items.
func AveragePrecision(ranked []string, rel Relevance, k int) float64 {
	n := rel.Count()
	if n == 0 {
		return 0
	}
	if k > 0 {
		n = min(n, k)
	}
	sum, found := 0.0, 0
	walk(ranked, rel, k, func(pos int, _ string) {
		found++
		sum += float64(found) / float64(pos)
	})
	return sum / float64(n)
}

// discount is the log2 position discount of DCG.
func discount(pos int) float64 { return 1 / math.Log2(float64(pos)+1) }

// NDCG is DCG over the top k divided by the ideal DCG: the DCG of all
// relevant items sorted by grade, cut at k. The gain is the grade itself
// (trec_eval's convention), discounted by log2(position + 1).
func NDCG(ranked []string, rel Relevance, k int) float64 {
	dcg := 0.0
	walk(ranked, rel, k, func(pos int, id string) { dcg += rel[id] * discount(pos) })
	grades := make([]float64, 0, len(rel))
	for _, g := range rel {
		if g > 0 {
			grades = append(grades, g)
		}
	}
	slices.SortFunc(grades, func(a, b float64) int { return cmp.Compare(b, a) })
	if k > 0 && len(grades) > k {
		grades = grades[:k]
	}
	ideal := 0.0
	for i, g := range grades {
		ideal += g * discount(i+1)
	}
	if ideal == 0 {
		return 0
	}
	return dcg / ideal
}

// AUC is the share of (relevant, non-relevant) pairs among the scored items
// that the scores order correctly, a tie counting half: the full-ranking
// AUC of one user. Relevant items must be among the scored ones (score every
// candidate); ok is false when there is no pair (no relevant or no other
// item). NaN scores are left out.
func AUC(scores []Scored, rel Relevance) (auc float64, ok bool) {
	s := make([]Scored, 0, len(scores))
	for _, x := range scores {
		if !math.IsNaN(x.Score) {
			s = append(s, x)
		}
	}
	slices.SortFunc(s, func(a, b Scored) int { return cmp.Compare(a.Score, b.Score) })
	// Mann-Whitney: with mid-ranks for ties, the positives' rank sum minus
	// its minimum counts the pairs ordered correctly, ties as one half.
	var pos, neg, rankSum float64
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j].Score == s[i].Score {
			j++
		}
		mid := float64(i+1+j) / 2 // mean of ranks i+1 .. j
		for _, x := range s[i:j] {
			if rel.relevant(x.ID) {
				pos++
				rankSum += mid
			} else {
				neg++
			}
		}
		i = j
	}
	if pos == 0 || neg == 0 {
		return 0, false
	}
	return (rankSum - pos*(pos+1)/2) / (pos * neg), true
}

// ErrLength reports predictions and truths of different lengths, or none.
var ErrLength = errors.New("metrics: predictions and truths must be non-empty and of equal length")

// RMSE is the root mean squared error of rating predictions.
func RMSE(pred, truth []float64) (float64, error) {
	if len(pred) != len(truth) || len(pred) == 0 {
		return 0, fmt.Errorf("%w: %d predictions, %d truths", ErrLength, len(pred), len(truth))
	}
	s := 0.0
	for i := range pred {
		d := pred[i] - truth[i]
		s += d * d
	}
	return math.Sqrt(s / float64(len(pred))), nil
}

// MAE is the mean absolute error of rating predictions.
func MAE(pred, truth []float64) (float64, error) {
	if len(pred) != len(truth) || len(pred) == 0 {
		return 0, fmt.Errorf("%w: %d predictions, %d truths", ErrLength, len(pred), len(truth))
	}
	s := 0.0
	for i := range pred {
		s += math.Abs(pred[i] - truth[i])
	}
	return s / float64(len(pred)), nil
}
