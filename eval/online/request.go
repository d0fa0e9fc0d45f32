package online

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vitrinehq/vitrine/eval/metrics"
	"github.com/vitrinehq/vitrine/experiment"
	"github.com/vitrinehq/vitrine/records"
)

// Request is what `vitrine eval online` is asked, as its flags give it.
type Request struct {
	// Since and Until bound the lists counted (ParseTime forms; Until ""
	// is now).
	Since, Until string
	// Surface is "" for every surface.
	Surface string
	// Experiment is the experiment reported ("" for every one); when
	// ExperimentGiven is false the configured one is.
	Experiment      string
	ExperimentGiven bool
	// Control is the variant others are compared with ("" resolves it).
	Control                       string
	ClickWindow, ConversionWindow time.Duration
	Confidence                    float64
	IncludeAnonymous              bool
}

// Query checks the request and turns it into the store's query, times
// read at now, and the normal quantile of its confidence level.
func (r Request) Query(now time.Time) (records.OnlineQuery, float64, error) {
	q := records.OnlineQuery{ClickWindow: r.ClickWindow, ConversionWindow: r.ConversionWindow, IncludeAnonymous: r.IncludeAnonymous, Until: now}
	var err error
	if q.Since, err = ParseTime(r.Since, now); err != nil {
		return q, 0, fmt.Errorf("--since: %w", err)
	}
	if r.Until != "" {
		if q.Until, err = ParseTime(r.Until, now); err != nil {
			return q, 0, fmt.Errorf("--until: %w", err)
		}
	}
	if !q.Since.Before(q.Until) {
		return q, 0, fmt.Errorf("--since (%s) is not before --until (%s)", q.Since.Format(time.RFC3339), q.Until.Format(time.RFC3339))
	}
	if r.Surface != "" && !slices.Contains(records.Surfaces(), r.Surface) {
		return q, 0, fmt.Errorf("--surface %q: want one of %s", r.Surface, strings.Join(records.Surfaces(), ", "))
	}
	if r.ClickWindow <= 0 || r.ConversionWindow <= 0 {
		return q, 0, errors.New("--click-window and --conversion-window must be positive")
	}
	q.Surface = r.Surface
	z, err := metrics.ZForConfidence(r.Confidence)
	if err != nil {
		return q, 0, fmt.Errorf("--confidence %v: %w", r.Confidence, err)
	}
	return q, z, nil
}

// Resolve fills in the experiment and control the request leaves open
// from the configured experiment (nil when none is): the configured
// experiment unless one was given, and its first variant as the control
// when it is the one reported, else "control".
func (r *Request) Resolve(configured *experiment.Experiment) {
	if !r.ExperimentGiven && configured != nil {
		r.Experiment = configured.Name
	}
	if r.Control == "" {
		r.Control = "control"
		if configured != nil && configured.Name == r.Experiment {
			r.Control = configured.Control().Name
		}
	}
}

// Report builds the report of counts, selected by q, for the request
// (resolved), with intervals at normal quantile z.
func (r Request) Report(counts []records.OnlineCount, q records.OnlineQuery, z float64) Report {
	rep := Build(counts, r.Control, z)
	rep.Since, rep.Until, rep.Experiment, rep.Surface = q.Since.UTC(), q.Until.UTC(), r.Experiment, r.Surface
	rep.ClickWindow, rep.ConversionWindow = r.ClickWindow.String(), r.ConversionWindow.String()
	rep.Confidence, rep.IncludeAnonymous = r.Confidence, r.IncludeAnonymous
	return rep
}
