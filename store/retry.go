package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/vitrinehq/vitrine/internal/ctxtime"
)

// SQLSTATE codes of errors that end a transaction through no fault of its
// own: running it again from the start usually succeeds.
const (
	codeDeadlock         = "40P01" // deadlock_detected
	codeSerialization    = "40001" // serialization_failure
	codeLockNotAvailable = "55P03" // lock_not_available (lock_timeout, NOWAIT)
)

// Defaults of the transaction retry policy.
const (
	// DefaultTxAttempts is how many times a retried transaction runs at
	// most, the first run included.
	DefaultTxAttempts = 5
	// defaultTxBackoff is the upper bound of the first wait between runs;
	// it doubles for each run after, up to maxTxBackoff.
	defaultTxBackoff = 20 * time.Millisecond
	maxTxBackoff     = time.Second
)

// retryPolicy bounds how a transaction ended by a transient error is run
// again.
type retryPolicy struct {
	attempts int           // runs at most, the first included (1: no retry)
	backoff  time.Duration // upper bound of the first wait
}

// WithTxAttempts sets how many times the store runs a write transaction
// that PostgreSQL ended with a deadlock, a serialization failure or a lock
// timeout, the first run included (default DefaultTxAttempts; 1 turns
// retries off).
func WithTxAttempts(n int) Option { return func(o *options) { o.txAttempts = max(n, 1) } }

// transient reports whether err is a PostgreSQL error that ends a
// transaction which may succeed when run again from the start.
func transient(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Code {
	case codeDeadlock, codeSerialization, codeLockNotAvailable:
		return true
	}
	return false
}

// wait returns the jittered wait before run attempt+1 (attempt counts
// from 1): uniform in [0, backoff·2^(attempt-1)], capped at maxTxBackoff,
// so two transactions that deadlocked do not meet again in step.
func (p retryPolicy) wait(attempt int) time.Duration {
	d := p.backoff
	for i := 1; i < attempt && d < maxTxBackoff; i++ {
		d *= 2
	}
	d = min(d, maxTxBackoff)
	if d <= 0 {
		return 0
	}
	return rand.N(d + 1)
}

// retryTx runs fn in a transaction like inTx, and runs the whole
// transaction again, up to the store's attempts, when PostgreSQL ends it
// with a deadlock, a serialization failure or a lock timeout (after a
// jittered, exponentially growing wait; each retry is logged at warn).
// Use it only where fn is safe to run again from the start: it may only
// write to the database through tx and to variables it overwrites on
// every run, never cause side effects outside the transaction. what names
// the work in logs.
func (s *Store) retryTx(ctx context.Context, what string, fn func(pgx.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.inTx(ctx, fn)
		if err == nil || !transient(err) || attempt >= s.retry.attempts {
			return err
		}
		d := s.retry.wait(attempt)
		if ctx.Err() == nil {
			s.log.WarnContext(ctx, "store: transaction ended by a transient error; running it again",
				"what", what, "attempt", attempt, "of", s.retry.attempts, "sqlstate", pgCode(err), "wait", d, "err", err)
		}
		if werr := ctxtime.Sleep(ctx, d); werr != nil {
			return fmt.Errorf("%s: %w; not run again: %w", what, err, werr)
		}
	}
}
