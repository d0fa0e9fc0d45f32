package training

import (
	"context"
	"fmt"
	"io"

	"github.com/vitrinehq/vitrine/fusion"
	"github.com/vitrinehq/vitrine/records"
)

// FusionStore is what learning the fusion weights reads: the active space,
// the event stream and the per-model embeddings of the products in it.
type FusionStore interface {
	ActiveSpace(ctx context.Context) (records.Space, error)
	TrainingEvents(ctx context.Context, fn func(records.TrainingEvent) error) error
	Embeddings(ctx context.Context, ids []string) (map[string]map[string]records.Embedding, error)
}

// FusionReport is the outcome of LearnFusion.
type FusionReport struct {
	Space int
	Spec  fusion.Spec
	fusion.LearnResult
}

// LearnFusion fits the active space's modality weights to users' histories
// (each user's earlier products predicting their last, see
// fusion.LearnWeights) and compares them with the space's own weights.
func LearnFusion(ctx context.Context, st FusionStore) (FusionReport, error) {
	sp, err := st.ActiveSpace(ctx)
	if err != nil {
		return FusionReport{}, err
	}
	spec, err := fusion.ParseSpec(sp.Spec)
	if err != nil {
		return FusionReport{}, err
	}
	hs, ids, err := histories(ctx, st)
	if err != nil {
		return FusionReport{}, err
	}
	embs, err := st.Embeddings(ctx, ids)
	if err != nil {
		return FusionReport{}, err
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
		return FusionReport{}, err
	}
	return FusionReport{Space: sp.Version, Spec: spec, LearnResult: res}, nil
}

// histories reads each user's products in event order (a repeated event on
// the same product counts once) and every product they name.
func histories(ctx context.Context, st FusionStore) ([]fusion.History, []string, error) {
	byUser := map[string]fusion.History{}
	var users []string
	err := st.TrainingEvents(ctx, func(e records.TrainingEvent) error {
		h := byUser[e.UserID]
		if len(h) > 0 && h[len(h)-1] == e.ProductID {
			return nil
		}
		if h == nil {
			users = append(users, e.UserID)
		}
		byUser[e.UserID] = append(h, e.ProductID)
		return nil
	})
	if err != nil {
		return nil, nil, err
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
	return hs, ids, nil
}

// Text writes the learned weights, both MRRs and, when the learned weights
// win, the backfill command that applies them.
func (r FusionReport) Text(w io.Writer) {
	fmt.Fprintf(w, "learned fusion weights over %d users: %v\n", r.Cases, r.Weights)
	fmt.Fprintf(w, "next-product MRR: learned %.4f, active space %d %.4f\n", r.MRR, r.Space, r.Baseline)
	if r.MRR > r.Baseline {
		fmt.Fprint(w, "to use them: vitrine backfill")
		for _, c := range r.Spec.Components {
			fmt.Fprintf(w, " --%s-weight %.2f", c.Modality, r.Weights[c.Model])
		}
		if r.Spec.Reduce != nil {
			// Without it the new space would be full-sized unless
			// fusion.reduce is set.
			fmt.Fprintf(w, " --reduce %d", r.Spec.Reduce.Dim)
		}
		fmt.Fprintln(w, " --activate")
	}
}
