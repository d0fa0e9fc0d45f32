// Package training fits the collaborative-filtering model the API serves
// on the stored events, tunes the serving blend on held-out behaviour and
// saves the factors, so serving can score users × items and fold new users
// in; `vitrine train` and the periodic training job run it. Models come
// from recommend's registry (recommend.New) with its defaults, the same
// constructor `vitrine eval recs` evaluates.
package training

import (
	"context"
	"fmt"
	"time"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/ranking"
	"github.com/vitrinehq/vitrine/recommend"
	"github.com/vitrinehq/vitrine/records"
)

// Store is what training reads and writes: the events, the model, the
// item-based methods' neighbour lists, and the serving space's vectors
// (content in the tuned blend).
type Store interface {
	TrainingEvents(ctx context.Context, fn func(records.TrainingEvent) error) error
	SaveCFModel(ctx context.Context, m records.CFModel, users, items map[string][]float32) (int, error)
	NeighbourStore
	ContentStore
}

// Options choose the model. Zero hyper-parameters take the registry's
// defaults for the method (recommend.Defaults).
type Options struct {
	Method     string // als (default) or bpr: a factor model the API can serve
	Factors    int
	Iterations int
	Reg        float64
	Alpha      float64
	Seed       uint64
	// NoTune skips tuning the serving blend on a held-out interaction per
	// user (which costs a second fit).
	NoTune bool
	// Budget, when positive, first searches every registry method's
	// hyper-parameters and a blend of the best on each user's latest event
	// (recommend.Search, the search `vitrine eval recs --tune` runs) for
	// about this long; the served model is then the best factor method with
	// its chosen settings, and the choice is stored with the model.
	Budget time.Duration
	// Progress, when set, is called after every setting the search tries.
	Progress func(recommend.Trial)
	// Stage, when set, is called as training moves on: every 100,000 events
	// read, after every ALS sweep or BPR epoch, and at the start of each
	// step (a progress bar with an ETA draws from it).
	Stage func(Stage)
}

// Stage is training's progress: the step, and how far it is (Total 0:
// not known ahead, e.g. the events being read).
type Stage struct {
	Name        string
	Done, Total int
}

// stage reports progress when the options ask for it.
func (o Options) stage(name string, done, total int) {
	if o.Stage != nil {
		o.Stage(Stage{Name: name, Done: done, Total: total})
	}
}

// progressReporter is a model that reports its fit's progress.
type progressReporter interface {
	OnProgress(fn func(done, total int))
}

// params resolves the options against the registry: the factor model to
// store and the choice to serve. An item-based method (item-kNN, its
// recency-weighted form, RP3beta, transitions, EASE) is served from its
// neighbour lists, with ALS at its defaults stored beside it for the
// similar-products and fold-in paths.
func (o Options) params() (string, recommend.Params, recommend.Choice, error) {
	method := o.Method
	if method == "" {
		method = "als"
	}
	if !recommend.IsFactorMethod(method) && !recommend.IsNeighbourMethod(method) {
		return "", recommend.Params{}, recommend.Choice{}, fmt.Errorf("training method %q: want als, bpr, itemknn, itemknn-recency, rp3beta, transitions or ease", o.Method)
	}
	set := recommend.Params{Factors: o.Factors, Iterations: o.Iterations, Reg: o.Reg, Alpha: o.Alpha, Seed: o.Seed}
	p, err := recommend.Resolve(method, set)
	if err != nil {
		return "", recommend.Params{}, recommend.Choice{}, err
	}
	choice := recommend.Choice{Components: []recommend.Component{{Method: method, Params: p, Weight: 1}}}
	if recommend.IsNeighbourMethod(method) {
		method = "als"
		p, err = recommend.Resolve(method, recommend.Params{Seed: o.Seed})
	}
	return method, p, choice, err
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
	// Search is the hyper-parameter search (nil without a budget, or with
	// too few users to validate on); Params the served model's settings.
	Search *recommend.SearchResult
	Params recommend.Params
	// Served is what the API serves: the stored factor method, or
	// item-based methods from stored neighbour lists, or a blend of both.
	Served recommend.Choice
}

// factorModel is a fitted model the API can serve by inner product.
type factorModel interface {
	recommend.Scorer
	recommend.Factorizer
}

// newModel builds the named registry method, which must have factors.
func newModel(method string, p recommend.Params) (factorModel, error) {
	s, err := recommend.New(method, p)
	if err != nil {
		return nil, err
	}
	m, ok := s.(factorModel)
	if !ok {
		return nil, fmt.Errorf("training method %q has no factors to serve", method)
	}
	return m, nil
}

// Train reads every event, fits the model and saves it as the active one.
// Event types weigh as they do in the online user vectors (a purchase
// counts more than a view; a poor rating counts against). With a budget
// the search's choice is served: its factor method as stored factors, its
// item-based methods as stored neighbour lists.
func Train(ctx context.Context, st Store, o Options) (Report, error) {
	start := time.Now()
	method, p, choice, err := o.params()
	if err != nil {
		return Report{}, err
	}
	log, err := readEvents(ctx, st, o)
	if err != nil {
		return Report{}, err
	}
	o.stage("index", 0, 0)
	d, err := log.Dataset()
	if err != nil {
		return Report{}, fmt.Errorf("training data: %w", err)
	}
	rep := Report{Interactions: log.Len()}
	var evs []recommend.Interaction // the search and the blend tuning split them
	if o.Budget > 0 || !o.NoTune {
		evs = sampleUsers(log, d.NumUsers(), maxSearchUsers)
	}
	log = nil // the columns may go once the dataset is built
	if o.Budget > 0 {
		o.stage("search", 0, 0)
		if method, p, choice, err = searchChoice(ctx, evs, o, &rep, method, p, choice); err != nil {
			return Report{}, err
		}
	}
	if !o.NoTune {
		o.stage("tune blend", 0, 0)
		if rep.Blend, rep.BlendNDCG, err = tuneBlend(ctx, st, evs, method, p); err != nil {
			return Report{}, fmt.Errorf("tune blend: %w", err)
		}
	}
	m, err := newModel(method, p)
	if err != nil {
		return Report{}, err
	}
	evs = nil // no longer needed: the fits read the dataset
	if pr, ok := m.(progressReporter); ok {
		pr.OnProgress(func(done, total int) { o.stage("fit "+method, done, total) })
	}
	o.stage("fit "+method, 0, p.Iterations)
	fitStart := time.Now()
	if err := m.Fit(ctx, d); err != nil {
		return Report{}, fmt.Errorf("fit %s: %w", method, err)
	}
	fs, err := fitNeighbours(ctx, d, choice)
	if err != nil {
		return Report{}, err
	}
	rep.Fit = time.Since(fitStart)
	o.stage("save", 0, 0)
	params := modelParams(p, rep.Blend, rep.BlendNDCG, rep.Search)
	params["serve"] = servedParams(fs)
	rep.Version, rep.Users, rep.Items, err = save(ctx, st, d, m, records.CFModel{
		Method: method, Interactions: int64(rep.Interactions), TrainSeconds: rep.Fit.Seconds(), Params: params,
	}, p.Reg)
	if err != nil {
		return Report{}, err
	}
	o.stage("neighbours", 0, 0)
	if err := saveNeighbours(ctx, st, rep.Version, fs); err != nil {
		return Report{}, err
	}
	o.stage("together", 0, 0)
	if err := saveTogether(ctx, st, rep.Version, d); err != nil {
		return Report{}, err
	}
	rep.Method, rep.Params, rep.Served, rep.Total = method, p, choice, time.Since(start)
	return rep, nil
}

// searchChoice runs the budgeted search and returns the factor model to
// store and the choice to serve (unchanged when too few users validate).
func searchChoice(ctx context.Context, evs []recommend.Interaction, o Options, rep *Report, method string, p recommend.Params, choice recommend.Choice) (string, recommend.Params, recommend.Choice, error) {
	res, ok, err := search(ctx, evs, o)
	if err != nil {
		return "", recommend.Params{}, recommend.Choice{}, fmt.Errorf("search: %w", err)
	}
	if !ok {
		return method, p, choice, nil
	}
	rep.Search = &res
	choice = servable(res)
	if f, ok := factorOf(choice); ok {
		method, p = f.Method, f.Params
	} else if m, mp := servedFactor(res); m != "" {
		method, p = m, mp
	}
	p.Seed = max(p.Seed, 1)
	return method, p, choice, nil
}

// servedParams is the model row's "serve": every served component with
// its weight, settings and, for item-based ones, how a user's events weigh.
func servedParams(fs []fitted) []servedComponent {
	out := make([]servedComponent, len(fs))
	for n, f := range fs {
		out[n] = f.servedComponent
	}
	return out
}

// modelParams are the settings stored with the model row: the served
// model's hyper-parameters and blend, and with a search, what it chose
// ("chosen", "chosen_ndcg": the best method or blend on validation, which
// the API serves only when it is a factor method) and every method's best
// settings ("searched").
func modelParams(p recommend.Params, blend map[string]float64, blendNDCG float64, res *recommend.SearchResult) map[string]any {
	out := map[string]any{"factors": p.Factors, "iterations": p.Iterations, "reg": p.Reg, "alpha": p.Alpha, "seed": p.Seed,
		"blend": blend, "blend_ndcg": blendNDCG}
	if res != nil {
		searched := map[string]any{}
		for _, b := range res.Best {
			searched[b.Method] = map[string]any{"settings": recommend.Describe(b.Method, b.Params), "ndcg": b.Score}
		}
		out["chosen"], out["chosen_ndcg"], out["searched"] = res.Choice.String(), res.Choice.Score, searched
		out["search_seconds"], out["search_trials"] = res.Elapsed.Seconds(), len(res.Trials)
	}
	return out
}

// readEvents streams every stored event into an EventLog as a weighted
// interaction (events that weigh nothing are left out), reporting every
// 100,000 events.
func readEvents(ctx context.Context, st Store, o Options) (*recommend.EventLog, error) {
	var log recommend.EventLog
	read := 0
	o.stage("read events", 0, 0)
	err := st.TrainingEvents(ctx, func(e records.TrainingEvent) error {
		if read++; read%100_000 == 0 {
			o.stage("read events", read, 0)
		}
		w := ranking.EventWeight(catalog.EventType(e.Type), e.Value)
		if w == 0 {
			return nil
		}
		return log.Add(e.UserID, e.ProductID, w, e.At)
	})
	if err != nil {
		return nil, err
	}
	o.stage("read events", read, read)
	return &log, nil
}

// save stores the fitted factors, with the Gram matrix YᵀY + λI that
// fold-in needs, as the active model.
func save(ctx context.Context, st Store, d *recommend.Dataset, m factorModel, cf records.CFModel, reg float64) (version, users, items int, err error) {
	uf, itf := m.UserFactors(), m.ItemFactors()
	um := make(map[string][]float32, len(uf))
	for u, f := range uf {
		um[d.UserID(u)] = f
	}
	im := make(map[string][]float32, len(itf))
	for i, f := range itf {
		im[d.ItemID(i)] = f
	}
	if cf.Gram, err = recommend.Gram(ctx, itf, reg); err != nil {
		return 0, 0, 0, err
	}
	cf.Dim, cf.Users, cf.Items = len(itf[0]), len(um), len(im)
	version, err = st.SaveCFModel(ctx, cf, um, im)
	return version, len(um), len(im), err
}
