// Package recs is the offline protocol of `vitrine eval recs`: it fits the
// registry's recommenders (recommend.New, the models training serves) on a
// split's training part and ranks the whole catalogue for every evaluated
// user, RecBole's full-ranking protocol, and scores rating predictors by
// RMSE and MAE. Reading and splitting the file belong to eval/data.
//
// Masking follows RecBole: when ranking for the test part, a user's
// training and validation items are excluded; when ranking for the
// validation part (tuning the hybrid blend, or WithTarget(Valid)), their
// training items. An excluded item is never recommended and takes no part
// in AUC; a held-out item that is also excluded (a repeated interaction)
// can therefore not be found.
//
// Users are evaluated one at a time (a batch in parallel): each user's
// scores live in one catalogue-sized buffer per worker, the top k comes
// from a heap, and every metric is summed per user in user order, so
// memory grows with users + items, never users × items, and the figures do
// not depend on the number of workers.
package recs

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"

	"github.com/vitrinehq/vitrine/eval/metrics"
	"github.com/vitrinehq/vitrine/recommend"
	"github.com/vitrinehq/vitrine/report"
)

// Method names that are not registry methods.
const (
	// Hybrid blends the collaborative model `vitrine train` serves (the
	// registry's als), popularity and, with content vectors, content, over
	// the candidates the API retrieves, as the API does.
	Hybrid = "hybrid"
	// Content ranks by cosine between the user's profile (the sum of their
	// training items' unit vectors) and each item's vector.
	Content = "content"
	// Tuned is what a validation search chose (WithChoice): one method
	// with its settings, or a blend of several.
	Tuned = "tuned"
)

// Sentinel errors, for errors.Is.
var (
	// ErrUnknownMethod: a method neither in the registry nor hybrid/content.
	ErrUnknownMethod = errors.New("recs: unknown method")
	// ErrNoContent: the content method without content vectors.
	ErrNoContent = errors.New("recs: the content method needs item vectors")
)

// Target is the split part a run ranks for.
type Target int

const (
	// Test ranks for the test part, masking training and validation items.
	Test Target = iota
	// Valid ranks for the validation part, masking training items (for
	// choosing hyper-parameters without looking at the test part).
	Valid
)

// String is the part's name.
func (t Target) String() string {
	if t == Valid {
		return "valid"
	}
	return "test"
}

// Result is one method's figures: a ranking method's Summary and Beyond,
// or a rating predictor's Rating.
type Result struct {
	Method     string             `json:"method"`
	Task       string             `json:"task"` // "ranking" or "rating"
	FitSeconds float64            `json:"fit_seconds"`
	Summary    metrics.Summary    `json:"summary,omitzero"`
	Beyond     map[string]float64 `json:"beyond_accuracy,omitempty"`
	// Weights are the hybrid's blend weights; WeightsFrom says where they
	// come from ("tuned on the validation split" or "configured").
	Weights     map[string]float64 `json:"weights,omitempty"`
	WeightsFrom string             `json:"weights_from,omitempty"`
	Rating      *RatingFigures     `json:"rating,omitempty"`
	// Curve is recall@k and NDCG@k for k = 1..report.CurveK (ranking).
	Curve []report.CurvePoint `json:"curve,omitempty"`
}

// Option configures Evaluate.
type Option func(*config)

type config struct {
	k        int
	params   recommend.Params
	vecs     map[string][]float32
	blend    map[string]float64
	target   Target
	workers  int
	maxUsers int
	log      *slog.Logger
	perParam map[string]recommend.Params
	choice   *recommend.Choice
	refit    bool
}

// WithMethodParams gives some methods their own hyper-parameters (a
// search's best), instead of WithParams'.
func WithMethodParams(p map[string]recommend.Params) Option {
	return func(c *config) { c.perParam = p }
}

// WithChoice sets what the Tuned method evaluates.
func WithChoice(ch recommend.Choice) Option { return func(c *config) { c.choice = &ch } }

// WithRefit fits the models on the training and validation parts when
// ranking for the test part (validation items stay masked), as training
// refits its choice on all the data; sequence-aware methods then see the
// event just before the test one.
func WithRefit(on bool) Option { return func(c *config) { c.refit = on } }

// WithK sets the cut-off K of the metrics (default 10).
func WithK(k int) Option { return func(c *config) { c.k = k } }

// WithParams sets the registry hyper-parameters (zero fields: defaults).
func WithParams(p recommend.Params) Option { return func(c *config) { c.params = p } }

// WithContent gives item vectors by item id (the fused product vectors):
// the content method needs them and the hybrid then blends content too.
func WithContent(vecs map[string][]float32) Option { return func(c *config) { c.vecs = vecs } }

// WithConfiguredBlend sets the weights the API is configured with (by
// source name): the hybrid uses them when the validation part has too few
// users to tune on, as serving does without a tuned model.
func WithConfiguredBlend(w map[string]float64) Option { return func(c *config) { c.blend = w } }

// WithTarget picks the part to rank for (default Test).
func WithTarget(t Target) Option { return func(c *config) { c.target = t } }

// WithWorkers sets the goroutines scoring users (default GOMAXPROCS); the
// figures do not depend on it.
func WithWorkers(n int) Option { return func(c *config) { c.workers = n } }

// WithMaxUsers evaluates at most n users, spread evenly over the user ids
// (0: all), for catalogues where scoring every user is too slow.
func WithMaxUsers(n int) Option { return func(c *config) { c.maxUsers = n } }

// WithLogger logs each method's progress (default: discard).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

func newConfig(opts []Option) (config, error) {
	c := config{k: 10, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(&c)
	}
	if c.workers <= 0 {
		c.workers = runtime.GOMAXPROCS(0)
	}
	if c.k < 1 || c.maxUsers < 0 || (c.target != Test && c.target != Valid) {
		return c, fmt.Errorf("recs: k %d, max users %d, target %d: %w", c.k, c.maxUsers, c.target, recommend.ErrInvalidOption)
	}
	return c, nil
}

// checkMethods rejects unknown names before anything is fitted.
func checkMethods(methods []string, haveContent bool, c config) error {
	for _, m := range methods {
		switch m {
		case Hybrid:
		case Tuned:
			if c.choice == nil {
				return fmt.Errorf("%w: %q needs a choice (WithChoice)", ErrUnknownMethod, Tuned)
			}
		case Content:
			if !haveContent {
				return ErrNoContent
			}
		default:
			if _, err := recommend.Defaults(m); err != nil {
				return fmt.Errorf("%w %q (want %s, %s or %s)", ErrUnknownMethod, m,
					strings.Join(recommend.Methods(), ", "), Hybrid, Content)
			}
		}
	}
	return nil
}
