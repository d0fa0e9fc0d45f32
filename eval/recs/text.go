package recs

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/vitrinehq/vitrine/recommend"
)

// SearchText prints a search: each method's best settings and validation
// score, and the choice.
func SearchText(w io.Writer, res recommend.SearchResult) {
	fmt.Fprintf(w, "search on the validation part: %d settings in %.1fs\n", len(res.Trials), res.Elapsed.Seconds())
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "METHOD\tVALID NDCG\tTRIED\tSETTINGS\n")
	for _, b := range res.Best {
		n := 0
		for _, t := range res.Trials {
			if t.Method == b.Method {
				n++
			}
		}
		fmt.Fprintf(tw, "%s\t%.4f\t%d\t%s\n", b.Method, b.Score, n, recommend.Describe(b.Method, b.Params))
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "chosen: %s (validation NDCG %.4f)\n", res.Choice, res.Choice.Score)
}

// Columns are the ranking metrics reported at k, in report order.
func Columns(k int) []string {
	return []string{fmt.Sprintf("recall@%d", k), fmt.Sprintf("ndcg@%d", k), fmt.Sprintf("hr@%d", k), fmt.Sprintf("mrr@%d", k),
		fmt.Sprintf("map@%d", k), fmt.Sprintf("precision@%d", k), "auc"}
}

// Text writes the ranking results as an aligned table, with the hybrid
// weights and the number of users evaluated.
func Text(w io.Writer, res []Result, k int) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	cols := Columns(k)
	fmt.Fprintf(tw, "METHOD\t%s\tCOVERAGE\tGINI\tNOVELTY\tFIT s\n", strings.ToUpper(strings.Join(cols, "\t")))
	for _, r := range res {
		fmt.Fprintf(tw, "%s", r.Method)
		for _, c := range cols {
			v, _ := r.Summary.Get(c)
			fmt.Fprintf(tw, "\t%.4f", v)
		}
		fmt.Fprintf(tw, "\t%.3f\t%.3f\t%.2f\t%.2f\n", r.Beyond["coverage"], r.Beyond["exposure_gini"], r.Beyond["novelty"], r.FitSeconds)
	}
	_ = tw.Flush()
	for _, r := range res {
		if r.Weights != nil {
			fmt.Fprintf(w, "hybrid weights (%s): %v\n", r.WeightsFrom, r.Weights)
		}
		if len(res) > 0 && r.Method == res[0].Method {
			fmt.Fprintf(w, "users evaluated: %d (skipped, no test items: %d)\n", r.Summary.Evaluated, r.Summary.Skipped)
		}
	}
}

// Markdown writes the ranking results as a Markdown table.
func Markdown(w io.Writer, res []Result, k int) {
	cols := Columns(k)
	fmt.Fprintf(w, "| method | %s | coverage | exposure Gini | novelty | fit s |\n|---|%s---|---|---|---|\n", strings.Join(cols, " | "), strings.Repeat("---|", len(cols)))
	for _, r := range res {
		fmt.Fprintf(w, "| %s |", r.Method)
		for _, c := range cols {
			v, _ := r.Summary.Get(c)
			fmt.Fprintf(w, " %.4f |", v)
		}
		fmt.Fprintf(w, " %.3f | %.3f | %.2f | %.2f |\n", r.Beyond["coverage"], r.Beyond["exposure_gini"], r.Beyond["novelty"], r.FitSeconds)
	}
}

func ratingIntro(r *RatingFigures) string {
	return fmt.Sprintf("fitted on %d training ratings, scored on %d test ratings (%d with a user or item unseen in training, predicted from the biases); predictions clipped to [%g, %g]",
		r.TrainRatings, r.TestRatings, r.Unseen, r.Min, r.Max)
}

// RatingText writes the rating predictors' table, or one line with
// the reason there is none.
func RatingText(w io.Writer, why string, res []Result) {
	if len(res) == 0 {
		fmt.Fprintf(w, "rating prediction: %s, so RMSE and MAE are not reported\n", why)
		return
	}
	fmt.Fprintf(w, "\nrating prediction: %s\n", ratingIntro(res[0].Rating))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "PREDICTOR\tRMSE\tMAE\tFIT s\n")
	for _, r := range res {
		fmt.Fprintf(tw, "%s\t%.4f\t%.4f\t%.2f\n", r.Method, r.Rating.RMSE, r.Rating.MAE, r.FitSeconds)
	}
	_ = tw.Flush()
}

// RatingMarkdown writes the rating predictors' section in Markdown.
func RatingMarkdown(w io.Writer, why string, res []Result) {
	capital := func(s string) string { return strings.ToUpper(s[:1]) + s[1:] }
	fmt.Fprintf(w, "\n## Rating prediction\n\n")
	if len(res) == 0 {
		fmt.Fprintf(w, "%s, so RMSE and MAE are not reported.\n", capital(why))
		return
	}
	fmt.Fprintf(w, "%s.\n\n| predictor | RMSE | MAE | fit s |\n|---|---|---|---|\n", capital(ratingIntro(res[0].Rating)))
	for _, r := range res {
		fmt.Fprintf(w, "| %s | %.4f | %.4f | %.2f |\n", r.Method, r.Rating.RMSE, r.Rating.MAE, r.FitSeconds)
	}
}
