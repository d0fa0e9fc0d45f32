package training

import (
	"context"
	"fmt"
	"runtime"

	"github.com/vitrinehq/vitrine/recommend"
	"github.com/vitrinehq/vitrine/records"
)

// ServedNeighbours is how many neighbours of each item are stored for an
// item-based method (serving sums the lists of a user's recent items).
const ServedNeighbours = 100

// NeighbourStore stores an item-based method's per-item neighbour lists
// with a model version (store.Store implements it).
type NeighbourStore interface {
	SaveItemNeighbours(ctx context.Context, version int, method string, next func() (string, []records.Scored, bool)) (int, error)
}

// servable is the part of a choice the API serves: its item-based
// components and at most one factor component (the stored factors),
// methods it cannot serve from stored data (session kNN, popularity) left
// out. Without any servable component it is the best servable single
// method of the search.
func servable(res recommend.SearchResult) recommend.Choice {
	out := recommend.Choice{Score: res.Choice.Score}
	factor := false
	for _, c := range res.Choice.Components {
		switch {
		case recommend.IsNeighbourMethod(c.Method):
			out.Components = append(out.Components, c)
		case recommend.IsFactorMethod(c.Method) && !factor:
			factor = true
			out.Components = append(out.Components, c)
		}
	}
	if len(out.Components) == len(res.Choice.Components) {
		return out
	}
	if len(out.Components) > 1 {
		return out
	}
	var best recommend.Trial
	for _, t := range res.Best {
		if recommend.Blendable(t.Method) && (best.Method == "" || t.Score > best.Score) {
			best = t
		}
	}
	if best.Method == "" {
		return recommend.Choice{}
	}
	return recommend.Choice{Components: []recommend.Component{{Method: best.Method, Params: best.Params, Weight: 1}}, Score: best.Score}
}

// factorOf is the choice's factor component (false when it has none).
func factorOf(c recommend.Choice) (recommend.Component, bool) {
	for _, x := range c.Components {
		if recommend.IsFactorMethod(x.Method) {
			return x, true
		}
	}
	return recommend.Component{}, false
}

// servedComponent is one served component as stored in the model row's
// params ("serve"): serving reads it back to score users.
type servedComponent struct {
	Method    string              `json:"method"`
	Weight    float64             `json:"weight"`
	Settings  string              `json:"settings"`
	Weighting recommend.Weighting `json:"weighting"`
	Lists     int                 `json:"lists"`
}

// fitted is one served component, fitted when item-based.
type fitted struct {
	servedComponent
	model recommend.Scorer // nil for the factor component
}

// fitNeighbours fits every item-based component of the choice on d and
// says how serving weighs each (the model row's "serve").
func fitNeighbours(ctx context.Context, d *recommend.Dataset, c recommend.Choice) ([]fitted, error) {
	var out []fitted
	for _, x := range c.Components {
		f := fitted{servedComponent: servedComponent{Method: x.Method, Weight: x.Weight, Settings: recommend.Describe(x.Method, x.Params)}}
		if recommend.IsNeighbourMethod(x.Method) {
			m, err := recommend.New(x.Method, x.Params)
			if err != nil {
				return nil, err
			}
			if err := m.Fit(ctx, d); err != nil {
				return nil, fmt.Errorf("fit %s: %w", x.Method, err)
			}
			f.model = m
			f.Weighting, _ = recommend.ServedWeighting(m)
			f.Lists = ServedNeighbours
		}
		out = append(out, f)
	}
	return out, nil
}

// saveNeighbours stores the fitted components' lists with the model.
func saveNeighbours(ctx context.Context, st Store, version int, fs []fitted) error {
	for _, f := range fs {
		if f.model == nil {
			continue
		}
		walk := func(fn func(string, recommend.NeighbourList) error) error {
			_, _, err := recommend.ServedNeighbours(f.model, ServedNeighbours, fn)
			return err
		}
		if err := streamNeighbours(ctx, st, version, f.Method, walk); err != nil {
			return err
		}
	}
	return nil
}

// streamNeighbours copies a fitted model's lists into the store while they
// are produced, so no more than one list is held at a time.
func streamNeighbours(ctx context.Context, ns NeighbourStore, version int, method string, walk func(func(string, recommend.NeighbourList) error) error) error {
	type list struct {
		id string
		ns []records.Scored
	}
	ch := make(chan list, 64)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var walkErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(ch)
		walkErr = walk(func(item string, l recommend.NeighbourList) error {
			out := make([]records.Scored, len(l.Items))
			for k := range l.Items {
				out[k] = records.Scored{ProductID: l.Items[k], Score: l.Scores[k]}
			}
			select {
			case ch <- list{item, out}:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	_, err := ns.SaveItemNeighbours(ctx, version, method, func() (string, []records.Scored, bool) {
		l, ok := <-ch
		return l.id, l.ns, ok
	})
	cancel()
	<-done
	if err != nil {
		return fmt.Errorf("save %s neighbours: %w", method, err)
	}
	if walkErr != nil {
		return fmt.Errorf("%s neighbours: %w", method, walkErr)
	}
	return nil
}

// TogetherMethod names the stored "frequently bought together" lists
// among a model's neighbour lists.
const TogetherMethod = "together"

// togetherSupport is the fewest baskets a pair must share to be listed.
const togetherSupport = 2

// saveTogether computes "frequently bought together" (recommend.Together)
// on d and stores it with the model.
func saveTogether(ctx context.Context, st Store, version int, d *recommend.Dataset) error {
	walk := func(fn func(string, recommend.NeighbourList) error) error {
		return recommend.Together(ctx, d, ServedNeighbours, togetherSupport, runtime.GOMAXPROCS(0), fn)
	}
	return streamNeighbours(ctx, st, version, TogetherMethod, walk)
}
