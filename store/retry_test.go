package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/vitrinehq/vitrine/internal/testdb"
	"github.com/vitrinehq/vitrine/internal/testlog"
)

// openRetrying opens a store on a fresh database whose logger counts the
// retries' warnings.
func openRetrying(t *testing.T, opts ...Option) (*Store, *testlog.WarnCounter) {
	t.Helper()
	warns := &testlog.WarnCounter{}
	s, err := Open(t.Context(), testdb.URL(t), append([]Option{WithLogger(slog.New(warns))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, warns
}

func TestTransient(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"deadlock", &pgconn.PgError{Code: "40P01"}, true},
		{"serialization failure", &pgconn.PgError{Code: "40001"}, true},
		{"lock not available", &pgconn.PgError{Code: "55P03"}, true},
		{"wrapped deadlock", fmt.Errorf("upsert products: %w", &pgconn.PgError{Code: "40P01"}), true},
		{"unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"check violation", fmt.Errorf("x: %w", &pgconn.PgError{Code: "23514"}), false},
		{"not from PostgreSQL", errors.New("deadlock detected (40P01)"), false},
		{"context canceled", context.Canceled, false},
		{"nil", nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := transient(c.err); got != c.want {
				t.Errorf("transient(%v) = %v, want %v", c.err, got, c.want)
			}
		})
	}
}

func TestRetryWaitGrowsWithinBounds(t *testing.T) {
	p := retryPolicy{attempts: 8, backoff: 20 * time.Millisecond}
	for _, c := range []struct {
		attempt int
		max     time.Duration
	}{
		{1, 20 * time.Millisecond},
		{2, 40 * time.Millisecond},
		{3, 80 * time.Millisecond},
		{7, maxTxBackoff},
		{40, maxTxBackoff}, // a shift past the width of Duration stays capped
	} {
		var longest time.Duration
		for range 200 {
			d := p.wait(c.attempt)
			if d < 0 || d > c.max {
				t.Fatalf("wait(%d) = %v, want within [0, %v]", c.attempt, d, c.max)
			}
			longest = max(longest, d)
		}
		if longest < c.max/2 {
			t.Errorf("wait(%d): longest of 200 draws %v, want them spread up to %v", c.attempt, longest, c.max)
		}
	}
	if d := (retryPolicy{attempts: 2}).wait(1); d != 0 {
		t.Errorf("wait with no backoff = %v, want 0", d)
	}
}

// TestRetryTxRecoversFromDeadlock makes two transactions update two rows
// in opposite orders, each waiting for the other to hold its first row:
// PostgreSQL ends one of them with a deadlock. The store runs that one
// again and both updates land.
func TestRetryTxRecoversFromDeadlock(t *testing.T) {
	s, warns := openRetrying(t)
	ctx := t.Context()
	if _, err := s.pool.Exec(ctx, `CREATE TABLE retry_probe (id int PRIMARY KEY, a int, b int);
		INSERT INTO retry_probe VALUES (1, 0, 0), (2, 0, 0)`); err != nil {
		t.Fatal(err)
	}
	// holding[i] is closed once transaction i holds its first row.
	holding := [2]chan struct{}{make(chan struct{}), make(chan struct{})}
	var once [2]sync.Once
	var runs [2]atomic.Int32
	write := func(i int, first, second int) error {
		col := [2]string{"a", "b"}[i]
		return s.retryTx(ctx, "probe", func(tx pgx.Tx) error {
			runs[i].Add(1)
			if _, err := tx.Exec(ctx, `UPDATE retry_probe SET `+col+` = 1 WHERE id = $1`, first); err != nil {
				return err
			}
			once[i].Do(func() { close(holding[i]) })
			<-holding[1-i] // at once on a second run: the other has held its row
			_, err := tx.Exec(ctx, `UPDATE retry_probe SET `+col+` = 1 WHERE id = $1`, second)
			return err
		})
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Go(func() { errs[0] = write(0, 1, 2) })
	wg.Go(func() { errs[1] = write(1, 2, 1) })
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("transaction %d: %v", i, err)
		}
	}
	var bad int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM retry_probe WHERE a <> 1 OR b <> 1`).Scan(&bad); err != nil {
		t.Fatal(err)
	}
	if bad != 0 {
		t.Errorf("%d rows miss an update: a transaction's writes were lost", bad)
	}
	if total := runs[0].Load() + runs[1].Load(); total < 3 {
		t.Errorf("transactions ran %d and %d times: no deadlock was forced", runs[0].Load(), runs[1].Load())
	}
	if warns.Count() == 0 {
		t.Error("the retry was not logged at warn")
	}
}

// TestRetryTxGivesUp checks the bounds: a transaction that keeps failing
// transiently runs the configured number of times and returns the error
// (still a *pgconn.PgError for errors.As); one that fails otherwise, or
// whose context ends while it waits, is not run again.
func TestRetryTxGivesUp(t *testing.T) {
	s, warns := openRetrying(t, WithTxAttempts(3))
	ctx := t.Context()
	for _, c := range []struct {
		name     string
		err      error
		cancel   bool
		wantRuns int
	}{
		{"serialization failures", &pgconn.PgError{Code: "40001"}, false, 3},
		{"constraint violation", &pgconn.PgError{Code: "23505"}, false, 1},
		{"context ends while waiting", &pgconn.PgError{Code: "40P01"}, true, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			runs := 0
			err := s.retryTx(ctx, "probe", func(tx pgx.Tx) error {
				runs++
				if _, err := tx.Exec(ctx, `SELECT 1`); err != nil {
					return err
				}
				if c.cancel {
					cancel()
				}
				return c.err
			})
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || pe.Code != c.err.(*pgconn.PgError).Code {
				t.Errorf("err = %v, want the transaction's %v", err, c.err)
			}
			if c.cancel && !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want context.Canceled too", err)
			}
			if runs != c.wantRuns {
				t.Errorf("ran %d times, want %d", runs, c.wantRuns)
			}
		})
	}
	if got := warns.Count(); got != 2 {
		t.Errorf("logged %d retries, want 2 (the failures' second and third runs)", got)
	}
}
