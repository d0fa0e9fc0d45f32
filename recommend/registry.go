package recommend

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
)

// ErrUnknownMethod: New was asked for a method the registry does not have.
var ErrUnknownMethod = errors.New("recommend: unknown method")

// Params are the hyper-parameters of the registry's methods. A zero field
// takes the method's default (Defaults), so callers set only what they
// change; each method reads the fields it has and ignores the others.
type Params struct {
	Factors    int     // latent factors (als, bpr)
	Iterations int     // ALS sweeps or BPR epochs
	Reg        float64 // L2 penalty (als, bpr)
	Alpha      float64 // ALS confidence slope c = 1 + alpha·|r|; RP3beta's exponent
	Neighbours int     // neighbours kept per item (item-kNN, rp3beta, transitions) or user (sknn)
	Shrink     float64 // item-kNN similarity shrinkage
	Beta       float64 // RP3beta's popularity penalty
	Recency    float64 // half-life, in a user's events, of their events' weight (sequence-aware methods)
	Window     int     // transitions: steps ahead that count as next; sknn: longest session
	MaxItems   int     // EASE: the most popular items it models
	Seed       uint64  // random seed (0: 1)
	Workers    int     // Fit goroutines (0: GOMAXPROCS; results do not depend on it)
}

// method is one registry entry: its defaults and its constructor.
type method struct {
	name     string
	defaults Params
	build    func(p Params) Scorer
}

// registry lists the methods in the order Methods reports them.
// Evaluation, training, the worker and the benchmarks all construct models
// here, so what is measured is what is served. The defaults are what
// `vitrine train` fitted (64 factors, 15 sweeps or epochs, λ 0.1), except
// where the validation part of `vitrine eval synth`'s file (random 8:1:1,
// NDCG@10) preferred other values: ALS alpha 1 (0.2488 against 0.2302 at
// alpha 2) and BPR λ 0.05 (0.2564 against 0.1094 at λ 0.1, 0.2145 with 30
// epochs and λ 0.01).
func registry() []method {
	return []method{
		{"popularity", Params{}, func(Params) Scorer { return NewPopularity() }},
		{"itemknn", Params{Neighbours: 100, Shrink: 10}, func(p Params) Scorer {
			return NewItemKNN(WithNeighbours(p.Neighbours), WithShrinkage(p.Shrink), WithWorkers(p.Workers))
		}},
		{"als", Params{Factors: 64, Iterations: 15, Reg: 0.1, Alpha: 1}, func(p Params) Scorer {
			return NewALS(WithFactors(p.Factors), WithIterations(p.Iterations), WithRegularization(p.Reg),
				WithAlpha(p.Alpha), WithSeed(p.Seed), WithWorkers(p.Workers))
		}},
		{"bpr", Params{Factors: 64, Iterations: 15, Reg: 0.05}, func(p Params) Scorer {
			return NewBPR(WithFactors(p.Factors), WithIterations(p.Iterations), WithRegularization(p.Reg),
				WithSeed(p.Seed), WithWorkers(p.Workers))
		}},
		{"ease", Params{Reg: 250, MaxItems: 4000}, func(p Params) Scorer {
			return NewEASE(WithRegularization(p.Reg), WithMaxItems(p.MaxItems), WithWorkers(p.Workers))
		}},
		{"rp3beta", Params{Alpha: 1, Beta: 0.5, Neighbours: 200}, func(p Params) Scorer {
			return NewRP3Beta(WithAlpha(p.Alpha), WithBeta(p.Beta), WithNeighbours(p.Neighbours), WithWorkers(p.Workers))
		}},
		{"itemknn-recency", Params{Neighbours: 100, Shrink: 10, Recency: 4}, func(p Params) Scorer {
			return NewItemKNN(WithNeighbours(p.Neighbours), WithShrinkage(p.Shrink), WithRecency(p.Recency), WithWorkers(p.Workers))
		}},
		{"transitions", Params{Window: 1, Neighbours: 100, Recency: 1}, func(p Params) Scorer {
			return NewTransitions(WithWindow(p.Window), WithNeighbours(p.Neighbours), WithRecency(p.Recency), WithWorkers(p.Workers))
		}},
		{"sknn", Params{Window: 10, Neighbours: 100, Recency: 2}, func(p Params) Scorer {
			return NewSessionKNN(WithWindow(p.Window), WithNeighbours(p.Neighbours), WithRecency(p.Recency), WithWorkers(p.Workers))
		}},
	}
}

// Methods are the names New accepts, in a fixed order.
func Methods() []string {
	r := registry()
	out := make([]string, len(r))
	for i, m := range r {
		out[i] = m.name
	}
	return out
}

func lookup(name string) (method, error) {
	for _, m := range registry() {
		if m.name == name {
			return m, nil
		}
	}
	return method{}, fmt.Errorf("%w %q (want %s)", ErrUnknownMethod, name, strings.Join(Methods(), ", "))
}

// Defaults are a method's hyper-parameters when Params leaves them zero.
func Defaults(name string) (Params, error) {
	m, err := lookup(name)
	if err != nil {
		return Params{}, err
	}
	return m.defaults.withSeed(), nil
}

// Resolve fills p's zero fields with the method's defaults: the
// hyper-parameters New will use (a caller storing them with a model, or
// computing a Gram matrix with the same λ, reads them here).
func Resolve(name string, p Params) (Params, error) {
	m, err := lookup(name)
	if err != nil {
		return Params{}, err
	}
	d := m.defaults
	p.Factors = cmp.Or(p.Factors, d.Factors)
	p.Iterations = cmp.Or(p.Iterations, d.Iterations)
	p.Reg = cmp.Or(p.Reg, d.Reg)
	p.Alpha = cmp.Or(p.Alpha, d.Alpha)
	p.Neighbours = cmp.Or(p.Neighbours, d.Neighbours)
	p.Shrink = cmp.Or(p.Shrink, d.Shrink)
	p.Beta = cmp.Or(p.Beta, d.Beta)
	p.Recency = cmp.Or(p.Recency, d.Recency)
	p.Window = cmp.Or(p.Window, d.Window)
	p.MaxItems = cmp.Or(p.MaxItems, d.MaxItems)
	return p.withSeed(), nil
}

func (p Params) withSeed() Params {
	if p.Seed == 0 {
		p.Seed = 1
	}
	return p
}

// New returns an unfitted model of the named method (see Methods) with
// p's hyper-parameters, zero fields taking the method's defaults. An
// unknown name is ErrUnknownMethod, listing the valid ones.
func New(name string, p Params) (Scorer, error) {
	m, err := lookup(name)
	if err != nil {
		return nil, err
	}
	p, _ = Resolve(name, p)
	return m.build(p), nil
}
