package recommend

import (
	"context"
	"testing"
	"time"
)

// EASE's item cap: the configured items, within memory, and within the
// inversion time a context's deadline leaves.
func TestEASECap(t *testing.T) {
	hour, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	second, cancel2 := context.WithTimeout(context.Background(), time.Second)
	defer cancel2()
	tests := []struct {
		name     string
		ctx      context.Context
		maxItems int
		atMost   int
		atLeast  int
	}{
		{"no deadline", context.Background(), 4000, 4000, 4000},
		{"memory", context.Background(), 100_000, 6192, 6000},
		{"an hour left", hour, 4000, 4000, 4000},
		{"a second left", second, 4000, 794, 1},
	}
	for _, tc := range tests {
		n := easeCap(tc.ctx, tc.maxItems)
		if n > tc.atMost || n < tc.atLeast {
			t.Errorf("%s: cap %d, want %d to %d", tc.name, n, tc.atLeast, tc.atMost)
		}
	}
}
