// Package ctxtime holds the one timing helper several packages need: a
// sleep that ends early when its context does (time.Sleep cannot be
// cancelled, and a timer-and-select written out at each call site was the
// same eight lines three times).
package ctxtime

import (
	"context"
	"time"
)

// Sleep waits d, or returns ctx's error as soon as ctx ends (at once when
// it has already ended). A d of zero or less returns nil unless ctx has
// ended.
func Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
