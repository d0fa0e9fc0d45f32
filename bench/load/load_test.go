package load_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/bench/load"
)

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{50, 50 * time.Millisecond}, {95, 95 * time.Millisecond}, {99, 99 * time.Millisecond}, {100, 100 * time.Millisecond}, {0, time.Millisecond}} {
		if got := load.Percentile(d, tc.p); got != tc.want {
			t.Errorf("p%.0f = %v, want %v", tc.p, got, tc.want)
		}
	}
	if load.Percentile(nil, 50) != 0 {
		t.Error("empty percentile")
	}
}

func TestRunCountsRequestsAndErrors(t *testing.T) {
	r := load.Run(context.Background(), "x", 4, 5*time.Second, 200, func(_ context.Context, i int) error {
		if i%10 == 0 {
			return errors.New("boom")
		}
		return nil
	})
	if r.Requests != 200 || r.Errors != 20 || r.FirstErr != "boom" || r.QPS <= 0 {
		t.Errorf("%+v", r)
	}
	if len(r.Latencies) != r.Requests || !slices.IsSorted(r.Latencies) {
		t.Errorf("%d latencies (sorted %v) for %d requests", len(r.Latencies), slices.IsSorted(r.Latencies), r.Requests)
	}
}
