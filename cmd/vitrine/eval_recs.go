package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vitrinehq/vitrine/eval/data"
	"github.com/vitrinehq/vitrine/eval/metrics"
	"github.com/vitrinehq/vitrine/ranking"
	"github.com/vitrinehq/vitrine/recommend"
	"github.com/vitrinehq/vitrine/report"
)

// recsMethodResult is one method's figures in `vitrine eval recs`: a
// ranking method's Summary and Beyond, or a rating predictor's Rating.
type recsMethodResult struct {
	Method     string             `json:"method"`
	Task       string             `json:"task"` // "ranking" or "rating"
	FitSeconds float64            `json:"fit_seconds"`
	Summary    metrics.Summary    `json:"summary,omitzero"`
	Beyond     map[string]float64 `json:"beyond_accuracy,omitempty"`
	Weights    map[string]float64 `json:"weights,omitempty"` // hybrid blend, tuned on the validation split
	Rating     *ratingFigures     `json:"rating,omitempty"`
	// Curve is recall@k and NDCG@k for k = 1..20 (ranking methods).
	Curve []report.CurvePoint `json:"curve,omitempty"`
}

// ratingFigures is a rating predictor's error on the test split's ratings.
type ratingFigures struct {
	RMSE float64 `json:"rmse"`
	MAE  float64 `json:"mae"`
	// TestRatings were predicted; Unseen of them have a user or an item
	// without training ratings and were predicted from the known biases.
	TestRatings  int     `json:"test_ratings"`
	Unseen       int     `json:"unseen"`
	TrainRatings int     `json:"train_ratings"`
	Min          float64 `json:"min"` // predictions are clipped to the training ratings' range
	Max          float64 `json:"max"`
}

func newEvalRecsCmd(a *app) *cobra.Command {
	var (
		file, format, protocol, methods, jsonOut, mdOut string
		plotOut                                         string
		k                                               int
		seed                                            uint64
		factors                                         int
		content                                         bool
	)
	cmd := &cobra.Command{
		Use:   "recs --interactions FILE",
		Short: "Compare popularity, item-kNN, ALS, BPR and a tuned hybrid on an interaction file (full ranking)",
		Long: `Evaluate the recommenders offline on a "user item [rating] [timestamp]" file
(whitespace, CSV or MovieLens u.data). The split follows RecBole: random 8:1:1
per user by default (or leave-one-out, or temporal), a fixed seed makes it
repeatable. Every method is trained on the training part and ranks every item
for every test user (full ranking, no sampled negatives), leaving out the
user's training items. The hybrid blends ALS, item-kNN and popularity (and
content, with --content) with weights tuned on the validation part (NDCG@K).
With --content the items must be products ingested into Vitrine: the content
method scores them by cosine between the fused product vectors of the active
space and the mean of the user's training items' vectors. Metrics: Recall, NDCG, HR,
MRR, MAP, Precision at K, AUC over the full ranking, item coverage, exposure
Gini and novelty. Every interaction counts as positive feedback for ranking.

When the file has ratings, three rating predictors are also fitted on the
training ratings and scored by RMSE and MAE on the test ratings: the global
mean, Koren's regularised user and item bias baseline, and biased matrix
factorisation by SGD ("SVD" in Surprise and LibRec, --factors factors,
Surprise's other defaults). Predictions are clipped to the training range;
users or items without training ratings fall back to the known biases.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return fmt.Errorf("--interactions is required")
			}
			m, err := data.ParseMethod(protocol)
			if err != nil {
				return err
			}
			d, err := data.ReadFile(file, data.Format(format))
			if err != nil {
				return err
			}
			split, err := data.SplitBy(d, m, seed)
			if err != nil {
				return err
			}
			ms := strings.Split(methods, ",")
			var vecs map[string][]float32
			if content {
				if vecs, err = a.contentVectors(cmd.Context(), d); err != nil {
					return err
				}
				ms = append(ms, "content")
			}
			res, err := evalRecs(cmd.Context(), split, ms, k, seed, factors, vecs)
			if err != nil {
				return err
			}
			var rated []recsMethodResult
			noRatings := ratingsMissing(d)
			if noRatings == "" {
				if rated, err = evalRatings(cmd.Context(), split, seed, factors); err != nil {
					return err
				}
				if rated == nil {
					noRatings = "no test ratings to predict"
				}
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%s: %d interactions, protocol %s (seed %d): train %d, valid %d, test %d; full ranking, k=%d\n",
				file, len(d.Interactions), m, seed, len(split.Train), len(split.Valid), len(split.Test), k)
			writeRecsTable(out, res, k)
			writeRatingTable(out, noRatings, rated)
			if plotOut != "" {
				curves := make([]report.NamedCurve, len(res))
				for i, r := range res {
					curves[i] = report.NamedCurve{Method: r.Method, Curve: r.Curve}
				}
				if err := report.CurvePlot(plotOut, fmt.Sprintf("Recommendations, %s split, full ranking", m), curves); err != nil {
					return err
				}
			}
			if jsonOut != "" {
				b, _ := json.MarshalIndent(slices.Concat(res, rated), "", "  ")
				if err := os.WriteFile(jsonOut, b, 0o644); err != nil {
					return err
				}
			}
			if mdOut != "" {
				f, err := os.Create(mdOut)
				if err != nil {
					return err
				}
				defer f.Close()
				fmt.Fprintf(f, "# Offline recommendation evaluation\n\n`%s`, protocol %s, seed %d, k=%d, full ranking.\n\n", file, m, seed, k)
				writeRecsMarkdown(f, res, k)
				writeRatingMarkdown(f, noRatings, rated)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&file, "interactions", "", "interaction file: user item [rating] [timestamp]")
	cmd.Flags().StringVar(&format, "format", "", "whitespace, csv or movielens (default: detect)")
	cmd.Flags().StringVar(&protocol, "protocol", "random", "random (8:1:1 per user), leave-one-out or temporal")
	cmd.Flags().StringVar(&methods, "methods", "popularity,itemknn,als,bpr,hybrid", "methods to compare")
	cmd.Flags().IntVar(&k, "k", 10, "cut-off K")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "seed of the split and the models")
	cmd.Flags().IntVar(&factors, "factors", 64, "latent factors of ALS, BPR and the rating SVD")
	cmd.Flags().StringVar(&jsonOut, "json", "", "write the results as JSON")
	cmd.Flags().StringVar(&mdOut, "md", "", "write the results as Markdown")
	cmd.Flags().StringVar(&plotOut, "plot", "", "draw recall@k and NDCG@k (k = 1..20) per method to this PNG file")
	cmd.Flags().BoolVar(&content, "content", false, "also evaluate content-based ranking (items must be ingested products)")
	return cmd
}

// contentVectors reads the fused vectors of the file's items from the
// active vector space.
func (a *app) contentVectors(ctx context.Context, d data.Dataset) (map[string][]float32, error) {
	st, err := a.openStore(ctx)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	sp, err := st.ActiveSpace(ctx)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var ids []string
	for _, x := range d.Interactions {
		if !seen[x.Item] {
			seen[x.Item] = true
			ids = append(ids, x.Item)
		}
	}
	vecs, err := st.ProductVectors(ctx, sp.Version, ids)
	if err != nil {
		return nil, err
	}
	if len(vecs) == 0 {
		return nil, fmt.Errorf("--content: none of the file's %d items is an ingested product with a vector in space %d", len(ids), sp.Version)
	}
	return vecs, nil
}

func toInteractions(xs []data.Interaction) []recommend.Interaction {
	out := make([]recommend.Interaction, len(xs))
	for i, x := range xs {
		out[i] = recommend.Interaction{User: x.User, Item: x.Item, Value: 1, Time: time.Unix(x.Time, 0)}
	}
	return out
}

// evalRecs trains each method on split.Train and ranks every item for each
// test user.
func evalRecs(ctx context.Context, split data.Split, methods []string, k int, seed uint64, factors int, vecs map[string][]float32) ([]recsMethodResult, error) {
	d, err := recommend.NewDataset(toInteractions(split.Train))
	if err != nil {
		return nil, err
	}
	nItems := d.NumItems()
	catalog := make([]string, nItems)
	for i := range catalog {
		catalog[i] = d.ItemID(i)
	}
	byUser := func(xs []data.Interaction) map[string]metrics.Relevance {
		m := map[string]metrics.Relevance{}
		for _, x := range xs {
			if _, ok := d.ItemIndex(x.Item); !ok {
				continue // an item unseen in training cannot be ranked
			}
			if m[x.User] == nil {
				m[x.User] = metrics.Relevance{}
			}
			m[x.User][x.Item] = 1
		}
		return m
	}
	test, valid := byUser(split.Test), byUser(split.Valid)
	counts := map[string]int{}
	for _, x := range split.Train {
		counts[x.Item]++
	}
	pop := metrics.Popularity(counts, catalog, d.NumUsers(), 1)

	fitted := map[string]recommend.Scorer{}
	fitTime := map[string]float64{}
	fit := func(name string) (recommend.Scorer, error) {
		if s, ok := fitted[name]; ok {
			return s, nil
		}
		var s recommend.Scorer
		switch name {
		case "popularity":
			s = recommend.NewPopularity()
		case "itemknn":
			s = recommend.NewItemKNN()
		case "als":
			s = recommend.NewALS(recommend.WithFactors(factors), recommend.WithSeed(seed))
		case "bpr":
			s = recommend.NewBPR(recommend.WithFactors(factors), recommend.WithSeed(seed))
		default:
			return nil, fmt.Errorf("unknown method %q (popularity, itemknn, als, bpr, hybrid)", name)
		}
		start := time.Now()
		if err := s.Fit(ctx, d); err != nil {
			return nil, fmt.Errorf("fit %s: %w", name, err)
		}
		fitTime[name] = time.Since(start).Seconds()
		fitted[name] = s
		return s, nil
	}
	// scores of every item for user u, training items excluded (-Inf).
	scoresOf := func(sc recommend.Scorer, u int) []float64 {
		dst := make([]float64, nItems)
		sc.ScoreUser(u, dst)
		items, _ := d.UserItems(u)
		for _, i := range items {
			dst[i] = math.Inf(-1)
		}
		return dst
	}
	// content scores every item by cosine with the mean of the user's
	// training items' fused vectors (NaN without a vector).
	contentOf := func(u int) []float64 {
		dst := make([]float64, nItems)
		items, _ := d.UserItems(u)
		var prof []float32
		for _, i := range items {
			if v, ok := vecs[catalog[i]]; ok {
				if prof == nil {
					prof = make([]float32, len(v))
				}
				n := vecNorm(v)
				for j, x := range v {
					prof[j] += float32(float64(x) / n)
				}
			}
		}
		for i := range dst {
			v, ok := vecs[catalog[i]]
			if !ok || prof == nil {
				dst[i] = math.NaN()
				continue
			}
			dst[i] = ranking.Cosine(prof, v)
		}
		for _, i := range items {
			dst[i] = math.Inf(-1)
		}
		return dst
	}
	ms := []metrics.Metric{metrics.RecallAt(k), metrics.NDCGAt(k), metrics.HitRateAt(k), metrics.MRRAt(k),
		metrics.MAPAt(k), metrics.PrecisionAt(k), metrics.AUCMetric()}
	evaluate := func(name string, score func(u int) []float64) (recsMethodResult, error) {
		var qs []metrics.Query
		var lists [][]string
		// Users in a fixed order: float sums, and so the figures, must not
		// follow map order.
		for _, user := range sortedUsers(test) {
			rel := test[user]
			u, ok := d.UserIndex(user)
			if !ok {
				continue
			}
			s := score(u)
			all := make([]metrics.Scored, 0, nItems)
			for i, v := range s {
				if !math.IsInf(v, -1) {
					all = append(all, metrics.Scored{ID: catalog[i], Score: v})
				}
			}
			ranked := metrics.Rank(all)
			// Ranked goes to report.CurveK for the curves; the metrics at k cut it.
			qs = append(qs, metrics.Query{ID: user, Ranked: ranked[:min(max(k, report.CurveK), len(ranked))], Relevant: rel, Scores: all})
			lists = append(lists, ranked[:min(k, len(ranked))])
			if err := ctx.Err(); err != nil {
				return recsMethodResult{}, err
			}
		}
		r := recsMethodResult{Method: name, Task: "ranking", Summary: metrics.Evaluate(qs, ms), Beyond: map[string]float64{
			"coverage":      metrics.Coverage(lists, k, nItems),
			"exposure_gini": metrics.ExposureGini(lists, k, catalog),
		}}
		if nov, err := metrics.Novelty(lists, k, pop); err == nil {
			r.Beyond["novelty"] = nov
		}
		r.Curve = report.CurveOf(metrics.Evaluate(qs, report.CurveMetrics()))
		return r, nil
	}

	var out []recsMethodResult
	for _, name := range methods {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if name == "content" {
			r, err := evaluate(name, func(u int) []float64 {
				s := contentOf(u)
				for i, v := range s {
					if math.IsNaN(v) {
						s[i] = -2 // below any cosine: items without a vector rank last
					}
				}
				return s
			})
			if err != nil {
				return nil, err
			}
			out = append(out, r)
			continue
		}
		if name != "hybrid" {
			sc, err := fit(name)
			if err != nil {
				return nil, err
			}
			r, err := evaluate(name, func(u int) []float64 { return scoresOf(sc, u) })
			if err != nil {
				return nil, err
			}
			r.FitSeconds = fitTime[name]
			out = append(out, r)
			continue
		}
		parts := []string{"als", "itemknn", "popularity"}
		scorers := map[string]recommend.Scorer{}
		for _, p := range parts {
			sc, err := fit(p)
			if err != nil {
				return nil, err
			}
			scorers[p] = sc
		}
		sourceScores := func(u int) map[string][]float64 {
			m := map[string][]float64{}
			for _, p := range parts {
				m[p] = scoresOf(scorers[p], u)
			}
			if vecs != nil {
				m["content"] = contentOf(u)
			}
			return m
		}
		var cases []recommend.TuneCase
		for _, user := range sortedUsers(valid) {
			rel := valid[user]
			u, ok := d.UserIndex(user)
			if !ok {
				continue
			}
			relevant := map[int]bool{}
			for id := range rel { // a set: order does not matter
				i, _ := d.ItemIndex(id)
				relevant[i] = true
			}
			items, _ := d.UserItems(u)
			excl := make([]int, len(items))
			for j, i := range items {
				excl[j] = int(i)
			}
			cases = append(cases, recommend.TuneCase{Parts: sourceScores(u), Relevant: relevant, Exclude: excl})
		}
		grid := map[string][]float64{"als": {0, 0.5, 1}, "itemknn": {0, 0.5, 1}, "popularity": {0, 0.1, 0.3}}
		if vecs != nil {
			grid["content"] = []float64{0, 0.5, 1}
		}
		tuned, err := recommend.TuneWeights(ctx, cases, grid, func(ranked []int, relevant map[int]bool) float64 {
			ids := make([]string, len(ranked))
			rel := metrics.Relevance{}
			for j, i := range ranked {
				ids[j] = catalog[i]
			}
			for i := range relevant {
				rel[catalog[i]] = 1
			}
			return metrics.NDCG(ids, rel, k)
		}, recommend.WithCutoff(k))
		if err != nil {
			return nil, err
		}
		r, err := evaluate("hybrid", func(u int) []float64 {
			blended, err := recommend.Blend(sourceScores(u), tuned.Weights)
			if err != nil {
				return make([]float64, nItems)
			}
			return blended
		})
		if err != nil {
			return nil, err
		}
		r.Weights = tuned.Weights
		r.FitSeconds = fitTime["als"] + fitTime["itemknn"] + fitTime["popularity"]
		out = append(out, r)
	}
	return out, nil
}

func vecNorm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		return 1
	}
	return math.Sqrt(s)
}

func sortedUsers(m map[string]metrics.Relevance) []string {
	us := make([]string, 0, len(m))
	for u := range m {
		us = append(us, u)
	}
	slices.Sort(us)
	return us
}

func recsColumns(k int) []string {
	return []string{fmt.Sprintf("recall@%d", k), fmt.Sprintf("ndcg@%d", k), fmt.Sprintf("hr@%d", k), fmt.Sprintf("mrr@%d", k),
		fmt.Sprintf("map@%d", k), fmt.Sprintf("precision@%d", k), "auc"}
}

func writeRecsTable(w io.Writer, res []recsMethodResult, k int) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	cols := recsColumns(k)
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
			fmt.Fprintf(w, "hybrid weights (tuned on the validation split): %v\n", r.Weights)
		}
		if len(res) > 0 && r.Method == res[0].Method {
			fmt.Fprintf(w, "users evaluated: %d (skipped, no test items: %d)\n", r.Summary.Evaluated, r.Summary.Skipped)
		}
	}
}

func writeRecsMarkdown(w io.Writer, res []recsMethodResult, k int) {
	cols := recsColumns(k)
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

// evalRatings fits the rating predictors on the training split's ratings
// and scores them on the test split's; nil when there is no test rating.
func evalRatings(ctx context.Context, split data.Split, seed uint64, factors int) ([]recsMethodResult, error) {
	if len(split.Test) == 0 {
		return nil, nil
	}
	train := make([]recommend.Rating, len(split.Train))
	users, items := map[string]bool{}, map[string]bool{}
	lo, hi := math.Inf(1), math.Inf(-1)
	for n, x := range split.Train {
		train[n] = recommend.Rating{User: x.User, Item: x.Item, Value: x.Rating}
		users[x.User], items[x.Item] = true, true
		lo, hi = min(lo, x.Rating), max(hi, x.Rating)
	}
	truth := make([]float64, len(split.Test))
	unseen := 0
	for n, x := range split.Test {
		truth[n] = x.Rating
		if !users[x.User] || !items[x.Item] {
			unseen++
		}
	}
	predictors := []struct {
		name string
		m    recommend.RatingPredictor
	}{
		{"global-mean", recommend.NewGlobalMean()},
		{"bias-baseline", recommend.NewBiasBaseline()},
		{"svd", recommend.NewSVD(recommend.WithFactors(factors), recommend.WithSeed(seed))},
	}
	var out []recsMethodResult
	for _, p := range predictors {
		start := time.Now()
		if err := p.m.FitRatings(ctx, train); err != nil {
			return nil, err
		}
		fit := time.Since(start).Seconds()
		pred := make([]float64, len(split.Test))
		for n, x := range split.Test {
			pred[n] = p.m.Predict(x.User, x.Item)
		}
		rmse, err := metrics.RMSE(pred, truth)
		if err != nil {
			return nil, err
		}
		mae, err := metrics.MAE(pred, truth)
		if err != nil {
			return nil, err
		}
		out = append(out, recsMethodResult{Method: p.name, Task: "rating", FitSeconds: fit, Rating: &ratingFigures{
			RMSE: rmse, MAE: mae, TestRatings: len(truth), Unseen: unseen, TrainRatings: len(train), Min: lo, Max: hi,
		}})
	}
	return out, nil
}

// ratingsMissing says why the file's ratings cannot be predicted: none,
// or all equal (implicit feedback written as 1); "" when they can.
func ratingsMissing(d data.Dataset) string {
	if !d.HasRating {
		return "the file has no ratings"
	}
	for _, x := range d.Interactions {
		if x.Rating != d.Interactions[0].Rating {
			return ""
		}
	}
	return fmt.Sprintf("every rating is %g", d.Interactions[0].Rating)
}

func ratingIntro(r *ratingFigures) string {
	return fmt.Sprintf("fitted on %d training ratings, scored on %d test ratings (%d with a user or item unseen in training, predicted from the biases); predictions clipped to [%g, %g]",
		r.TrainRatings, r.TestRatings, r.Unseen, r.Min, r.Max)
}

// writeRatingTable writes the rating predictors' table, or one line with
// the reason there is none.
func writeRatingTable(w io.Writer, why string, res []recsMethodResult) {
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

func writeRatingMarkdown(w io.Writer, why string, res []recsMethodResult) {
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
