package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vitrinehq/vitrine/fusion"
	"github.com/vitrinehq/vitrine/recommend"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/store"
	"github.com/vitrinehq/vitrine/training"
)

func newTrainCmd(a *app) *cobra.Command {
	var (
		o         training.Options
		fusionFit bool
	)
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Train the collaborative-filtering model on all stored events and activate it",
		Long: `Fit implicit-feedback matrix factorisation (ALS with conjugate gradient, or
BPR) on every stored event, weighted by type (purchase > add to cart > click >
view; a poor rating counts against), store the item and user factors in
PostgreSQL (pgvector, inner product = score) and make the model active. The
API then serves hybrid recommendations: collaborative, content and popularity
scores blended with weights tuned on one held-out interaction per user (NDCG@10
over a weight grid; --no-tune keeps server.cf_weight, server.content_weight and
server.popularity_weight). Users who arrive after a training are folded in
from their events (ALS). Erased users' events are gone, so the next training
leaves them out; their factors go with them at once. The model comes from the
same registry, with the same defaults, as 'vitrine eval recs' evaluates.
With --budget (default 3m) training first holds out each user's latest event
and searches every registry method's settings and a blend of the best on it
(full ranking, NDCG@10: the search 'vitrine eval recs --tune' runs), then
fits what it chose on all events and serves it: a factor method (als, bpr)
as stored factors, an item-based one (itemknn, itemknn-recency, rp3beta,
transitions, ease) as stored per-item neighbour lists scored from the user's
latest events, a blend of both through the same blend the evaluation uses;
session kNN and popularity are reported but left out of what is served. The
choice, what is served and every method's best settings are stored with the
model row (and shown on /admin). --method names one method to serve without
a search (--budget 0); item-based methods keep ALS factors beside them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			if fusionFit {
				return learnFusion(cmd, st)
			}
			bar := newTrainBar(cmd.ErrOrStderr())
			o.Stage = bar.stage
			o.Progress = func(t recommend.Trial) { bar.trial(t) }
			rep, err := training.Train(cmd.Context(), st, o)
			bar.done()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "trained %s model %d on %d interactions (%d users, %d items): fit %.1fs, total %.1fs; active\n",
				rep.Method, rep.Version, rep.Interactions, rep.Users, rep.Items, rep.Fit.Seconds(), rep.Total.Seconds())
			writeTrainSearch(out, rep)
			if rep.Blend != nil {
				fmt.Fprintf(out, "serving blend tuned on one held-out interaction per user: %v (validation NDCG@10 %.4f)\n", rep.Blend, rep.BlendNDCG)
			} else if !o.NoTune {
				fmt.Fprintln(out, "too little behaviour to tune the serving blend: the configured server.*_weight apply")
			}
			return nil
		},
	}
	als, _ := recommend.Defaults("als") // the flags' help quotes the registry
	bpr, _ := recommend.Defaults("bpr")
	cmd.Flags().StringVar(&o.Method, "method", "als", "method served without a search: als, bpr, itemknn, itemknn-recency, rp3beta, transitions or ease")
	cmd.Flags().IntVar(&o.Factors, "factors", 0, fmt.Sprintf("latent factors (0: the registry's default, %d)", als.Factors))
	cmd.Flags().IntVar(&o.Iterations, "iterations", 0, fmt.Sprintf("ALS sweeps or BPR epochs (0: the registry's default, %d)", als.Iterations))
	cmd.Flags().Float64Var(&o.Reg, "reg", 0, fmt.Sprintf("L2 regularisation (0: the registry's defaults, als %g, bpr %g)", als.Reg, bpr.Reg))
	cmd.Flags().Float64Var(&o.Alpha, "alpha", 0, fmt.Sprintf("ALS confidence slope: c = 1 + alpha·weight (0: the registry's default, %g)", als.Alpha))
	cmd.Flags().Uint64Var(&o.Seed, "seed", 1, "random seed (a fixed seed makes training repeatable)")
	cmd.Flags().DurationVar(&o.Budget, "budget", 3*time.Minute, "search every method's settings and a blend on each user's latest event for about this long first (0: fit the fixed settings)")
	cmd.Flags().BoolVar(&o.NoTune, "no-tune", false, "keep the configured blend weights instead of tuning them on held-out behaviour")
	cmd.Flags().BoolVar(&fusionFit, "fusion", false, "instead, learn the per-modality fusion weights from the logged events and compare them with the active space's")
	return cmd
}

// trainBar draws training's progress on one line of w: the step, a bar
// and an ETA when the step's length is known (the fit's sweeps), else the
// count so far and its rate (events read, settings searched).
type trainBar struct {
	w           io.Writer
	name        string
	start, step time.Time
	trials      int
}

func newTrainBar(w io.Writer) *trainBar { return &trainBar{w: w, start: time.Now()} }

// stage draws one progress report.
func (b *trainBar) stage(s training.Stage) {
	now := time.Now()
	if s.Name != b.name {
		if b.name != "" {
			fmt.Fprintln(b.w)
		}
		b.name, b.step = s.Name, now
	}
	el := now.Sub(b.step)
	switch {
	case s.Total > 0 && s.Done > 0:
		frac := float64(s.Done) / float64(s.Total)
		eta := time.Duration(float64(el) * (1 - frac) / frac)
		n := int(frac * 30)
		fmt.Fprintf(b.w, "\r%-16s [%s%s] %d/%d  %s, ETA %s   ", s.Name, strings.Repeat("=", n), strings.Repeat(" ", 30-n),
			s.Done, s.Total, el.Round(time.Second), eta.Round(time.Second))
	case s.Done > 0:
		fmt.Fprintf(b.w, "\r%-16s %d  %s (%.0f/s)   ", s.Name, s.Done, el.Round(time.Second), float64(s.Done)/max(el.Seconds(), 1e-3))
	default:
		fmt.Fprintf(b.w, "\r%-16s ... (%s in all)   ", s.Name, now.Sub(b.start).Round(time.Second))
	}
}

// trial counts the search's settings.
func (b *trainBar) trial(recommend.Trial) {
	b.trials++
	b.stage(training.Stage{Name: "search", Done: b.trials})
}

// done ends the bar's line with the total time.
func (b *trainBar) done() {
	if b.name != "" {
		fmt.Fprintf(b.w, "\ndone in %s\n", time.Since(b.start).Round(time.Second))
	}
}

// writeTrainSearch prints what the search chose and what is served.
func writeTrainSearch(out io.Writer, rep training.Report) {
	if rep.Search == nil {
		writeServed(out, rep)
		return
	}
	res := *rep.Search
	fmt.Fprintf(out, "searched %d settings in %.1fs on each user's latest event (validation NDCG@10):\n", len(res.Trials), res.Elapsed.Seconds())
	for _, b := range res.Best {
		fmt.Fprintf(out, "  %-16s %.4f  %s\n", b.Method, b.Score, recommend.Describe(b.Method, b.Params))
	}
	fmt.Fprintf(out, "chosen: %s (validation NDCG@10 %.4f)\n", res.Choice, res.Choice.Score)
	writeServed(out, rep)
}

// writeServed prints what the API serves from this model.
func writeServed(out io.Writer, rep training.Report) {
	fmt.Fprintf(out, "served: %s; factors: %s %s\n", rep.Served, rep.Method, recommend.Describe(rep.Method, rep.Params))
	for _, c := range rep.Served.Components {
		fmt.Fprintf(out, "  %-16s weight %g  %s\n", c.Method, c.Weight, recommend.Describe(c.Method, c.Params))
	}
}

// learnFusion fits the active space's modality weights to users' histories
// (each user's earlier products predicting their last) and reports whether
// they rank the next product better than the configured weights.
func learnFusion(cmd *cobra.Command, st *store.Store) error {
	ctx := cmd.Context()
	sp, err := st.ActiveSpace(ctx)
	if err != nil {
		return err
	}
	spec, err := fusion.ParseSpec(sp.Spec)
	if err != nil {
		return err
	}
	byUser := map[string]fusion.History{}
	var users []string
	err = st.TrainingEvents(ctx, func(e records.TrainingEvent) error {
		h := byUser[e.UserID]
		if len(h) > 0 && h[len(h)-1] == e.ProductID {
			return nil // repeated event on the same product
		}
		if h == nil {
			users = append(users, e.UserID)
		}
		byUser[e.UserID] = append(h, e.ProductID)
		return nil
	})
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	var ids []string
	hs := make([]fusion.History, 0, len(users))
	for _, u := range users {
		hs = append(hs, byUser[u])
		for _, id := range byUser[u] {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	embs, err := st.Embeddings(ctx, ids)
	if err != nil {
		return err
	}
	vecs := make(map[string]map[string][]float32, len(embs))
	for id, ms := range embs {
		vecs[id] = map[string][]float32{}
		for key, e := range ms {
			vecs[id][key] = e.Vector
		}
	}
	res, err := fusion.LearnWeights(ctx, spec, vecs, hs, 0.1)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "learned fusion weights over %d users: %v\n", res.Cases, res.Weights)
	fmt.Fprintf(out, "next-product MRR: learned %.4f, active space %d %.4f\n", res.MRR, sp.Version, res.Baseline)
	if res.MRR > res.Baseline {
		fmt.Fprint(out, "to use them: vitrine backfill")
		for _, c := range spec.Components {
			fmt.Fprintf(out, " --%s-weight %.2f", c.Modality, res.Weights[c.Model])
		}
		fmt.Fprintln(out, " --activate")
	}
	return nil
}
