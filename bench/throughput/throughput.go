// Package throughput measures how many items per second Vitrine's encoders
// and ingestion process, each beside a baseline run in the same process:
// the bare ONNX Runtime session on already-prepared tensors, and the
// models alone on ingestion's inputs. It owns the engines of `vitrine
// bench extract` (Extract: inputs, cells, rows, ratios) and `vitrine bench
// ingest` (MeasureIngest: cases, quarter rates, index builds, database
// sizes) and their text tables, Markdown and plot; the Go benchmarks
// BenchmarkEncode and BenchmarkIngest use its measuring code too.
package throughput

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/vitrinehq/vitrine/extractors"
)

// Warmups is how many untimed calls each runner makes before its first
// timed round: a fresh ORT session plans memory and grows its arena over
// its first runs.
const Warmups = 3

// Runner is one way of processing a fixed batch: each call of Run handles
// Items items.
type Runner struct {
	Name  string
	Items int
	Run   func(ctx context.Context) error
}

// Budget bounds a measurement of each runner: Items items or, when Items
// is 0, Duration of wall time, split into Rounds rounds that alternate
// between the runners so that a change in the machine's load during the
// run hits every runner alike.
type Budget struct {
	Items    int
	Duration time.Duration
	Rounds   int
}

// Validate says what is wrong with a budget, naming the flag that sets it.
func (b Budget) Validate() error {
	switch {
	case b.Items < 0:
		return fmt.Errorf("--items %d: want 0 (use --duration) or more", b.Items)
	case b.Items == 0 && b.Duration <= 0:
		return fmt.Errorf("--duration %s: want a positive duration (or set --items)", b.Duration)
	case b.Rounds < 1:
		return fmt.Errorf("--rounds %d: want at least 1", b.Rounds)
	}
	return nil
}

// String describes the budget per runner.
func (b Budget) String() string {
	if b.Items > 0 {
		return fmt.Sprintf("%d items per path in %d rounds", b.Items, b.Rounds)
	}
	return fmt.Sprintf("%s per path in %d rounds", b.Duration, b.Rounds)
}

// Result is one runner's measurement.
type Result struct {
	Name  string `json:"name"`
	Items int    `json:"items"`
	// Seconds is the timed wall time over every round.
	Seconds float64 `json:"seconds"`
	// PerSecond is the median of the rounds' items/s.
	PerSecond float64   `json:"items_per_second"`
	Rounds    []float64 `json:"rounds_items_per_second"`
}

// Min and Max are the slowest and fastest round's items/s.
func (r Result) Min() float64 { return slices.Min(r.Rounds) }

// Max is the fastest round's items/s.
func (r Result) Max() float64 { return slices.Max(r.Rounds) }

// Interleave warms every runner up, then measures them round by round, in
// turn within each round, and returns one Result per runner in order.
func Interleave(ctx context.Context, runners []Runner, b Budget) ([]Result, error) {
	if err := b.Validate(); err != nil {
		return nil, err
	}
	for _, r := range runners {
		if r.Items < 1 {
			return nil, fmt.Errorf("runner %s: %d items per call", r.Name, r.Items)
		}
		for range Warmups {
			if err := r.Run(ctx); err != nil {
				return nil, fmt.Errorf("%s: %w", r.Name, err)
			}
		}
	}
	out := make([]Result, len(runners))
	for i, r := range runners {
		out[i].Name = r.Name
	}
	for round := range b.Rounds {
		for i, r := range runners {
			items, took, err := measure(ctx, r, b, round)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", r.Name, err)
			}
			out[i].Items += items
			out[i].Seconds += took.Seconds()
			out[i].Rounds = append(out[i].Rounds, float64(items)/took.Seconds())
		}
	}
	for i := range out {
		out[i].PerSecond = median(out[i].Rounds)
	}
	return out, nil
}

// measure runs r for one round's share of the budget (at least one call).
func measure(ctx context.Context, r Runner, b Budget, round int) (int, time.Duration, error) {
	var itemGoal int
	var timeGoal time.Duration
	if b.Items > 0 {
		// Spread the remainder over the first rounds.
		itemGoal = b.Items / b.Rounds
		if round < b.Items%b.Rounds {
			itemGoal++
		}
	} else {
		timeGoal = b.Duration / time.Duration(b.Rounds)
	}
	items := 0
	start := time.Now()
	for {
		if err := r.Run(ctx); err != nil {
			return 0, 0, err
		}
		items += r.Items
		if itemGoal > 0 && items >= itemGoal || itemGoal == 0 && time.Since(start) >= timeGoal {
			return items, time.Since(start), nil
		}
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
	}
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// EncodeBatch runs batch through enc.EncodeBatch, the call ingestion and
// backfill make (preprocessing, the model, pooling, normalisation; no
// dynamic batcher), and fails on any per-item error: a rejected input
// would make the pipeline look faster than it is.
func EncodeBatch(ctx context.Context, enc extractors.Encoder, batch [][]byte) error {
	_, errs, err := enc.EncodeBatch(ctx, batch)
	if err != nil {
		return err
	}
	for i, e := range errs {
		if e != nil {
			return fmt.Errorf("input %d: %w", i, e)
		}
	}
	return nil
}

// Served submits every item of batch at once from its own goroutine
// through enc.Encode, the call the API makes for each request, so the
// encoder's dynamic batcher gathers them into model runs (one run of
// len(batch) items when its max batch is len(batch)); it returns when
// every item has its vector.
func Served(ctx context.Context, enc extractors.Encoder, batch [][]byte) error {
	if len(batch) == 1 {
		_, err := enc.Encode(ctx, batch[0])
		return err
	}
	errs := make([]error, len(batch))
	var wg sync.WaitGroup
	for i, in := range batch {
		wg.Go(func() {
			_, errs[i] = enc.Encode(ctx, in)
		})
	}
	wg.Wait()
	for i, e := range errs {
		if e != nil {
			return fmt.Errorf("input %d: %w", i, e)
		}
	}
	return nil
}
