package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vitrinehq/vitrine/eval/data"
	"github.com/vitrinehq/vitrine/eval/recs"
	"github.com/vitrinehq/vitrine/recommend"
	"github.com/vitrinehq/vitrine/report"
)

// evalRecsFlags are the flags of `vitrine eval recs`.
type evalRecsFlags struct {
	file, format, protocol, methods, target string
	jsonOut, mdOut, plotOut                 string
	k, maxUsers                             int
	seed                                    uint64
	params                                  recommend.Params
	content, tune, refit                    bool
	budget                                  time.Duration
}

// evalRecsLong is the help of eval recs, listing the registry's methods.
func evalRecsLong() string {
	return `Evaluate the recommenders offline on a "user item [rating] [timestamp]" file
(whitespace, CSV or MovieLens u.data). The split follows RecBole and a fixed
seed makes it repeatable:
  random         each user's interactions shuffled and split 8:1:1 (users
                 with fewer than 3 stay whole in training);
  leave-one-out  each user's last interaction is test and the one before it
                 validation, "last" by timestamp when the file has them, else
                 by the user's lines in file order (one "user item" line per
                 interaction in time order, the common public layout);
  temporal       the whole file cut at two times into 80%, 10%, 10%.
Every method is fitted on the training part and ranks every item for every
test user (full ranking, no sampled negatives). Masked, under every
protocol: when ranking for the test part, the user's training AND validation
items (RecBole); when ranking for the validation part (tuning the hybrid,
or --target valid), the user's training items. A masked item is never
recommended and takes no part in AUC, so a test item the user already had
in training or validation cannot be found. Users are scored one at a time
(top K by a heap, metrics summed per user): memory grows with users + items.

Methods come from the same registry as 'vitrine train' and the worker, with
the same defaults (--factors, --iterations, --reg, --alpha override them):
` + strings.Join(recommend.Methods(), ", ") + `.
With --tune, each method's hyper-parameters and a blend of the best methods
are first chosen on the validation part by the search 'vitrine train --budget'
runs (full ranking, NDCG@K, training items masked; the test part is never
read); the table then gives each method with its chosen settings and
"tuned", the choice, all refitted on training+validation (--refit) and
ranked for the test part. Compare with --refit alone for the defaults.
"hybrid" blends as the API does: the
collaborative score of the als model training serves, log1p popularity and,
with --content, content cosine, z-normalised over the candidates the API
retrieves (max(3K, 30) per source, half as many popular) and weighted by
weights tuned on the validation part as 'vitrine train' tunes them, or the
configured server.*_weight when fewer than 50 validation users exist; items
outside the candidates rank below them, tied (which is what its AUC sees).
With --content the items must be products ingested into Vitrine: the content
method scores them by cosine between the fused product vectors of the active
space and the sum of the user's training items' unit vectors. Metrics:
Recall, NDCG, HR, MRR, MAP, Precision at K, AUC over the full ranking, item
coverage, exposure Gini and novelty. Every interaction counts as positive
feedback for ranking.

When the file has ratings, three rating predictors are also fitted on the
training ratings and scored by RMSE and MAE on the test ratings: the global
mean, Koren's regularised user and item bias baseline, and biased matrix
factorisation by SGD ("SVD" in Surprise and LibRec, --factors factors,
Surprise's other defaults). Predictions are clipped to the training range;
users or items without training ratings fall back to the known biases.`
}

func newEvalRecsCmd(a *app) *cobra.Command {
	var f evalRecsFlags
	cmd := &cobra.Command{
		Use:   "recs --interactions FILE",
		Short: "Compare popularity, item-kNN, ALS, BPR and the served hybrid on an interaction file (full ranking)",
		Long:  evalRecsLong(),
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.evalRecs(cmd.Context(), cmd.OutOrStdout(), f)
		},
	}
	als, _ := recommend.Defaults("als") // the flags' help quotes the registry
	bpr, _ := recommend.Defaults("bpr")
	fl := cmd.Flags()
	fl.StringVar(&f.file, "interactions", "", "interaction file: user item [rating] [timestamp]")
	fl.StringVar(&f.format, "format", "", "whitespace, csv or movielens (default: detect)")
	fl.StringVar(&f.protocol, "protocol", "random", "random (8:1:1 per user), leave-one-out or temporal")
	fl.StringVar(&f.methods, "methods", strings.Join(append(recommend.Methods(), recs.Hybrid), ","), "methods to compare")
	fl.StringVar(&f.target, "target", "test", "rank for the test part, or for the validation part (valid) when choosing hyper-parameters")
	fl.IntVar(&f.k, "k", 10, "cut-off K")
	fl.IntVar(&f.maxUsers, "max-users", 0, "evaluate at most this many users, spread evenly over the ids (0: all)")
	fl.Uint64Var(&f.seed, "seed", 1, "seed of the split and the models")
	fl.IntVar(&f.params.Factors, "factors", 64, "latent factors of ALS, BPR and the rating SVD")
	fl.IntVar(&f.params.Iterations, "iterations", 0, fmt.Sprintf("ALS sweeps or BPR epochs (0: the registry's default, %d)", als.Iterations))
	fl.Float64Var(&f.params.Reg, "reg", 0, fmt.Sprintf("L2 regularisation of ALS and BPR (0: the registry's defaults, %g and %g)", als.Reg, bpr.Reg))
	fl.Float64Var(&f.params.Alpha, "alpha", 0, fmt.Sprintf("ALS confidence slope (0: the registry's default, %g)", als.Alpha))
	fl.StringVar(&f.jsonOut, "json", "", "write the results as JSON")
	fl.StringVar(&f.mdOut, "md", "", "write the results as Markdown")
	fl.StringVar(&f.plotOut, "plot", "", "draw recall@k and NDCG@k (k = 1..20) per method to this PNG file")
	fl.BoolVar(&f.content, "content", false, "also evaluate content-based ranking (items must be ingested products)")
	fl.BoolVar(&f.tune, "tune", false, "choose every method's settings and a blend on the validation part first (implies --refit)")
	fl.DurationVar(&f.budget, "budget", 3*time.Minute, "time the --tune search may take")
	fl.BoolVar(&f.refit, "refit", false, "fit on training+validation when ranking for the test part")
	return cmd
}

// evalRecs reads and splits the file, runs the protocol and prints.
func (a *app) evalRecs(ctx context.Context, out io.Writer, f evalRecsFlags) error {
	if f.file == "" {
		return fmt.Errorf("--interactions is required")
	}
	m, err := data.ParseMethod(f.protocol)
	if err != nil {
		return err
	}
	d, err := data.ReadFile(f.file, data.Format(f.format))
	if err != nil {
		return err
	}
	split, err := data.SplitBy(d, m, f.seed)
	if err != nil {
		return err
	}
	opts, methods, err := a.recsOptions(ctx, d, f)
	if err != nil {
		return err
	}
	if f.tune {
		if opts, methods, err = a.tuneRecs(ctx, out, split, methods, opts, f); err != nil {
			return err
		}
	}
	res, err := recs.Evaluate(ctx, split, methods, opts...)
	if err != nil {
		return err
	}
	var rated []recs.Result
	noRatings := recs.RatingsMissing(d)
	if noRatings == "" {
		if rated, err = recs.EvaluateRatings(ctx, split, f.seed, f.params.Factors); err != nil {
			return err
		}
		if rated == nil {
			noRatings = "no test ratings to predict"
		}
	}
	fmt.Fprintf(out, "%s: %d interactions, protocol %s (seed %d): train %d, valid %d, test %d; full ranking for the %s part, k=%d\n",
		f.file, len(d.Interactions), m, f.seed, len(split.Train), len(split.Valid), len(split.Test), f.target, f.k)
	recs.Text(out, res, f.k)
	recs.RatingText(out, noRatings, rated)
	return writeRecsReports(f, m, res, rated, noRatings)
}

// recsOptions turns the flags into the protocol's options and methods.
func (a *app) recsOptions(ctx context.Context, d data.Dataset, f evalRecsFlags) ([]recs.Option, []string, error) {
	var methods []string
	for m := range strings.SplitSeq(f.methods, ",") {
		if m = strings.TrimSpace(m); m != "" {
			methods = append(methods, m)
		}
	}
	target := recs.Test
	switch f.target {
	case "test":
	case "valid":
		target = recs.Valid
	default:
		return nil, nil, fmt.Errorf("--target %q: want test or valid", f.target)
	}
	p := f.params
	p.Seed = f.seed
	s := a.cfg.Server
	opts := []recs.Option{recs.WithK(f.k), recs.WithParams(p), recs.WithTarget(target), recs.WithMaxUsers(f.maxUsers),
		recs.WithLogger(a.log), recs.WithRefit(f.refit || f.tune), recs.WithConfiguredBlend(map[string]float64{recommend.SourceCollaborative: s.CFWeight,
			recommend.SourceContent: s.ContentWeight, recommend.SourcePopularity: s.PopularityWeight})}
	if f.content {
		vecs, err := a.contentVectors(ctx, d)
		if err != nil {
			return nil, nil, err
		}
		opts = append(opts, recs.WithContent(vecs))
		methods = append(methods, recs.Content)
	}
	return opts, methods, nil
}

// tuneRecs runs the validation search and returns the options and methods
// that evaluate its outcome on the test part.
func (a *app) tuneRecs(ctx context.Context, out io.Writer, split data.Split, methods []string, opts []recs.Option, f evalRecsFlags) ([]recs.Option, []string, error) {
	res, err := recs.Tune(ctx, split, methods, []recommend.SearchOption{recommend.WithBudget(f.budget)}, opts...)
	if err != nil {
		return nil, nil, err
	}
	recs.SearchText(out, res)
	per := map[string]recommend.Params{}
	for _, b := range res.Best {
		per[b.Method] = b.Params
	}
	return append(opts, recs.WithMethodParams(per), recs.WithChoice(res.Choice)), append(methods, recs.Tuned), nil
}

// writeRecsReports writes the plot, JSON and Markdown the flags ask for.
func writeRecsReports(f evalRecsFlags, m data.Method, res, rated []recs.Result, noRatings string) error {
	if f.plotOut != "" {
		curves := make([]report.NamedCurve, len(res))
		for i, r := range res {
			curves[i] = report.NamedCurve{Method: r.Method, Curve: r.Curve}
		}
		if err := report.CurvePlot(f.plotOut, fmt.Sprintf("Recommendations, %s split, full ranking", m), curves); err != nil {
			return err
		}
	}
	return report.Write(f.jsonOut, f.mdOut, slices.Concat(res, rated), func(w io.Writer, all []recs.Result) error {
		fmt.Fprintf(w, "# Offline recommendation evaluation\n\n`%s`, protocol %s, seed %d, k=%d, full ranking for the %s part.\n\n",
			f.file, m, f.seed, f.k, f.target)
		recs.Markdown(w, res, f.k)
		recs.RatingMarkdown(w, noRatings, rated)
		return nil
	})
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
