package training

import (
	"fmt"
	"io"

	"github.com/vitrinehq/vitrine/recommend"
)

// Text writes what training did: the fitted model, what the search chose
// (with every method's best settings) and what the API serves, and the
// serving blend. tuned says whether blend tuning was asked for.
func (r Report) Text(w io.Writer, tuned bool) {
	fmt.Fprintf(w, "trained %s model %d on %d interactions (%d users, %d items): fit %.1fs, total %.1fs; active\n",
		r.Method, r.Version, r.Interactions, r.Users, r.Items, r.Fit.Seconds(), r.Total.Seconds())
	if r.Search != nil {
		res := *r.Search
		fmt.Fprintf(w, "searched %d settings in %.1fs on each user's latest event (validation NDCG@10):\n", len(res.Trials), res.Elapsed.Seconds())
		for _, b := range res.Best {
			fmt.Fprintf(w, "  %-16s %.4f  %s\n", b.Method, b.Score, recommend.Describe(b.Method, b.Params))
		}
		fmt.Fprintf(w, "chosen: %s (validation NDCG@10 %.4f)\n", res.Choice, res.Choice.Score)
	}
	fmt.Fprintf(w, "served: %s; factors: %s %s\n", r.Served, r.Method, recommend.Describe(r.Method, r.Params))
	for _, c := range r.Served.Components {
		fmt.Fprintf(w, "  %-16s weight %g  %s\n", c.Method, c.Weight, recommend.Describe(c.Method, c.Params))
	}
	switch {
	case r.Blend != nil:
		fmt.Fprintf(w, "serving blend tuned on one held-out interaction per user: %v (validation NDCG@10 %.4f)\n", r.Blend, r.BlendNDCG)
	case tuned:
		fmt.Fprintln(w, "too little behaviour to tune the serving blend: the configured server.*_weight apply")
	}
}
