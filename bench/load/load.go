// Package load measures throughput and latency of a function under
// concurrent callers: the engine of `vitrine bench api`.
package load

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
)

// Result summarises one load run.
type Result struct {
	Name     string        `json:"name"`
	Clients  int           `json:"clients"`
	Requests int           `json:"requests"`
	Errors   int           `json:"errors"`
	Duration time.Duration `json:"duration_ns"`
	QPS      float64       `json:"qps"`
	P50      time.Duration `json:"p50_ns"`
	P95      time.Duration `json:"p95_ns"`
	P99      time.Duration `json:"p99_ns"`
	FirstErr string        `json:"first_error,omitempty"`
	// Latencies are every measured call, sorted: for distribution plots.
	Latencies []time.Duration `json:"-"`
}

// Run calls fn from clients goroutines until d has passed (or maxRequests
// calls were made, if positive) and returns latency percentiles. fn gets the
// call's sequence number, so callers can rotate through inputs.
func Run(ctx context.Context, name string, clients int, d time.Duration, maxRequests int, fn func(ctx context.Context, i int) error) Result {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		mu        sync.Mutex
		latencies []time.Duration
		errs      int
		firstErr  string
		next      int
	)
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local []time.Duration
			for ctx.Err() == nil {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if maxRequests > 0 && i >= maxRequests {
					break
				}
				t0 := time.Now()
				err := fn(ctx, i)
				if ctx.Err() != nil {
					break // cut off by the deadline: not a measurement
				}
				local = append(local, time.Since(t0))
				if err != nil {
					mu.Lock()
					errs++
					if firstErr == "" {
						firstErr = err.Error()
					}
					mu.Unlock()
				}
			}
			mu.Lock()
			latencies = append(latencies, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(latencies)
	r := Result{Name: name, Clients: clients, Requests: len(latencies), Errors: errs, Duration: elapsed, FirstErr: firstErr, Latencies: latencies}
	if elapsed > 0 {
		r.QPS = float64(len(latencies)) / elapsed.Seconds()
	}
	r.P50, r.P95, r.P99 = Percentile(latencies, 50), Percentile(latencies, 95), Percentile(latencies, 99)
	return r
}

// Percentile of sorted durations (nearest rank); 0 for none.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// Ms formats a duration in milliseconds for reports.
func Ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }
