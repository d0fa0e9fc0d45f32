// Package training fits collaborative-filtering models on the stored events
// and saves their factors, so serving can score users × items and fold new
// users in; `vitrine train` and the periodic training job run it.
package training

import (
	"context"
	"fmt"
	"time"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/ranking"
	"github.com/vitrinehq/vitrine/recommend"
	"github.com/vitrinehq/vitrine/store"
)

// Store is what training reads and writes.
type Store interface {
	TrainingEvents(ctx context.Context, fn func(store.TrainingEvent) error) error
	SaveCFModel(ctx context.Context, m store.CFModel, users, items map[string][]float32) (int, error)
}

// Options choose the model.
type Options struct {
	Method     string // als (default) or bpr
	Factors    int
	Iterations int
	Reg        float64
	Alpha      float64
	Seed       uint64
	// NoTune skips tuning the serving blend on a held-out interaction per
	// user (which costs a second fit).
	NoTune bool
}

func (o *Options) defaults() {
	if o.Method == "" {
		o.Method = "als"
	}
	if o.Factors <= 0 {
		o.Factors = 64
	}
	if o.Iterations <= 0 {
		o.Iterations = 15
	}
	if o.Reg <= 0 {
		o.Reg = 0.1
	}
	if o.Alpha <= 0 {
		o.Alpha = 2
	}
}

// Report says what a training did.
type Report struct {
	Version      int
	Method       string
	Interactions int
	Users, Items int
	Fit          time.Duration
	Total        time.Duration
	// Blend is the tuned weight of each serving source (nil when there was
	// too little behaviour to tune on); BlendNDCG its validation NDCG@10.
	Blend     map[string]float64
	BlendNDCG float64
}

// Train reads every event, fits the model and saves it as the active one.
// Event types weigh as they do in the online user vectors (a purchase
// counts more than a view; a poor rating counts against).
func Train(ctx context.Context, st Store, o Options) (Report, error) {
	o.defaults()
	start := time.Now()
	var evs []recommend.Interaction
	err := st.TrainingEvents(ctx, func(e store.TrainingEvent) error {
		w := ranking.EventWeight(catalog.EventType(e.Type), e.Value)
		if w != 0 {
			evs = append(evs, recommend.Interaction{User: e.UserID, Item: e.ProductID, Value: w, Time: e.At})
		}
		return nil
	})
	if err != nil {
		return Report{}, err
	}
	d, err := recommend.NewDataset(evs)
	if err != nil {
		return Report{}, fmt.Errorf("training data: %w", err)
	}
	common := []recommend.Option{recommend.WithFactors(o.Factors), recommend.WithIterations(o.Iterations),
		recommend.WithRegularization(o.Reg), recommend.WithSeed(o.Seed)}
	type factored interface {
		Fit(context.Context, *recommend.Dataset) error
		UserFactors() [][]float32
		ItemFactors() [][]float32
	}
	newModel := func() factored {
		switch o.Method {
		case "als":
			return recommend.NewALS(append(common, recommend.WithAlpha(o.Alpha))...)
		case "bpr":
			return recommend.NewBPR(common...)
		}
		return nil
	}
	m := newModel()
	if m == nil {
		return Report{}, fmt.Errorf("training method %q: want als or bpr", o.Method)
	}
	var blend map[string]float64
	var blendNDCG float64
	if !o.NoTune {
		cs, _ := st.(ContentStore)
		blend, blendNDCG, err = tuneBlend(ctx, cs, evs, o.Seed, func(ctx context.Context, d *recommend.Dataset) (recommend.Scorer, error) {
			tm := newModel()
			if err := tm.Fit(ctx, d); err != nil {
				return nil, err
			}
			return tm.(recommend.Scorer), nil
		})
		if err != nil {
			return Report{}, fmt.Errorf("tune blend: %w", err)
		}
	}
	fitStart := time.Now()
	if err := m.Fit(ctx, d); err != nil {
		return Report{}, fmt.Errorf("fit %s: %w", o.Method, err)
	}
	fit := time.Since(fitStart)
	uf, itf := m.UserFactors(), m.ItemFactors()
	users := make(map[string][]float32, len(uf))
	for u, f := range uf {
		users[d.UserID(u)] = f
	}
	items := make(map[string][]float32, len(itf))
	for i, f := range itf {
		items[d.ItemID(i)] = f
	}
	gram, err := recommend.Gram(ctx, itf, o.Reg)
	if err != nil {
		return Report{}, err
	}
	v, err := st.SaveCFModel(ctx, store.CFModel{
		Method: o.Method, Dim: len(itf[0]), Gram: gram, Interactions: int64(len(evs)), Users: len(users), Items: len(items),
		TrainSeconds: fit.Seconds(),
		Params: map[string]any{"factors": o.Factors, "iterations": o.Iterations, "reg": o.Reg, "alpha": o.Alpha, "seed": o.Seed,
			"blend": blend, "blend_ndcg": blendNDCG},
	}, users, items)
	if err != nil {
		return Report{}, err
	}
	return Report{Version: v, Method: o.Method, Interactions: len(evs), Users: len(users), Items: len(items), Fit: fit,
		Total: time.Since(start), Blend: blend, BlendNDCG: blendNDCG}, nil
}
