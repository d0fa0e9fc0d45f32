package lexical_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/internal/testdb"
	"github.com/vitrinehq/vitrine/lexical"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/store"
)

func openStore(t *testing.T) *store.Store {
	t.Helper()
	s, err := store.Open(t.Context(), testdb.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func startSyncer(t *testing.T, s lexical.Source, opts ...lexical.SyncOption) *lexical.Syncer {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	sy := lexical.NewSyncer(s, append([]lexical.SyncOption{lexical.WithPoll(time.Second)}, opts...)...)
	done := make(chan error, 1)
	go func() { done <- sy.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("syncer: %v", err)
		}
	})
	select {
	case <-sy.Ready():
	case err := <-done:
		t.Fatalf("syncer stopped before its snapshot: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("no snapshot in 30 s")
	}
	return sy
}

func found(t *testing.T, sy *lexical.Syncer, q string) []string {
	t.Helper()
	res, err := sy.SearchText(t.Context(), records.TextQuery{Text: q, K: 10})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(res.Hits))
	for i, h := range res.Hits {
		out[i] = h.ProductID
	}
	return out
}

// within polls until cond holds, failing after d.
func within(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSyncerFollowsWrites(t *testing.T) {
	s := openStore(t)
	ctx := t.Context()
	price := 12.5
	if _, err := s.UpsertProducts(ctx, []catalog.Product{
		{ID: "p1", Title: "Organic bananas", Category: []string{"Fruit"}, Price: &price},
		{ID: "p2", Title: "Soy drink", Description: "With a hint of banana", Category: []string{"Dairy"}},
	}); err != nil {
		t.Fatal(err)
	}
	a := startSyncer(t, s)
	b := startSyncer(t, s, lexical.WithPoll(time.Hour)) // notifications alone
	for _, sy := range []*lexical.Syncer{a, b} {
		if got := found(t, sy, "banana"); !slices.Equal(got, []string{"p1", "p2"}) {
			t.Fatalf("snapshot: banana finds %v", got)
		}
	}
	steps := []struct {
		name  string
		write func() error
		q     string
		want  []string
	}{
		{"insert", func() error {
			_, err := s.UpsertProducts(ctx, []catalog.Product{{ID: "p3", Title: "Fresh ginger root"}})
			return err
		}, "ginger", []string{"p3"}},
		{"update", func() error {
			_, err := s.UpsertProducts(ctx, []catalog.Product{{ID: "p3", Title: "Turmeric root"}})
			return err
		}, "ginger", []string{}},
		{"soft delete", func() error { return s.DeleteProduct(ctx, "p1") }, "banana", []string{"p2"}},
		{"restore", func() error {
			_, err := s.UpsertProducts(ctx, []catalog.Product{{ID: "p1", Title: "Organic bananas"}})
			return err
		}, "banana", []string{"p1", "p2"}},
	}
	for _, st := range steps {
		if err := st.write(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		for i, sy := range []*lexical.Syncer{a, b} {
			within(t, 2*time.Second, st.name, func() bool { return slices.Equal(found(t, sy, st.q), st.want) })
			if sy.Index().Len() == 0 {
				t.Errorf("%s: syncer %d has an empty index", st.name, i)
			}
		}
	}
	if got := found(t, a, "turmeric"); !slices.Equal(got, []string{"p3"}) {
		t.Errorf("turmeric finds %v after the update", got)
	}
	// A restarted process serves what the running ones do.
	c := startSyncer(t, s)
	for _, q := range []string{"banana", "turmeric", "ginger", "soy"} {
		if got, want := found(t, c, q), found(t, a, q); !slices.Equal(got, want) {
			t.Errorf("restarted: %q finds %v, running finds %v", q, got, want)
		}
	}
}

func changeRows(t *testing.T, s *store.Store) int {
	t.Helper()
	cs, err := s.ProductChangesAfter(t.Context(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return len(cs)
}

// A Syncer trims the change-log rows older than its retention, and
// trimming loses nothing: the running index keeps every write, later
// writes still arrive, and a restarted process serves the same results.
func TestSyncerTrimsTheChangeLog(t *testing.T) {
	s := openStore(t)
	ctx := t.Context()
	if _, err := s.UpsertProducts(ctx, []catalog.Product{{ID: "p1", Title: "Organic bananas"}, {ID: "p2", Title: "Soy drink"}}); err != nil {
		t.Fatal(err)
	}
	a := startSyncer(t, s, lexical.WithGapWait(100*time.Millisecond), lexical.WithRetention(200*time.Millisecond, 50*time.Millisecond), lexical.WithPoll(50*time.Millisecond))
	if _, err := s.UpsertProducts(ctx, []catalog.Product{{ID: "p3", Title: "Fresh ginger root"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteProduct(ctx, "p2"); err != nil {
		t.Fatal(err)
	}
	within(t, 2*time.Second, "write applied", func() bool { return slices.Equal(found(t, a, "ginger"), []string{"p3"}) })
	within(t, 5*time.Second, "change log trimmed", func() bool { return changeRows(t, s) == 0 })
	if _, err := s.UpsertProducts(ctx, []catalog.Product{{ID: "p4", Title: "Ginger shot"}}); err != nil {
		t.Fatal(err)
	}
	within(t, 2*time.Second, "write after the trim", func() bool { return len(found(t, a, "ginger")) == 2 })
	c := startSyncer(t, s)
	for _, q := range []string{"banana", "ginger", "soy"} {
		if got, want := found(t, c, q), found(t, a, q); !slices.Equal(got, want) {
			t.Errorf("restarted: %q finds %v, running finds %v", q, got, want)
		}
	}
	if got := found(t, a, "soy"); len(got) != 0 {
		t.Errorf("deleted p2 still found: %v", got)
	}
}

// flaky is the store with a change log that can be made unreadable, as
// when a process loses its database for a while.
type flaky struct {
	*store.Store
	down atomic.Bool
}

var errDown = errors.New("change log unreachable")

func (f *flaky) ProductChangesAfter(ctx context.Context, after int64, limit int) ([]records.ProductChange, error) {
	if f.down.Load() {
		return nil, errDown
	}
	return f.Store.ProductChangesAfter(ctx, after, limit)
}

// A Syncer that could not read the change log for longer than the
// retention (less the gap wait) may have lost rows to another process's
// trim: it rebuilds from a snapshot rather than miss the writes.
func TestSyncerBehindTheRetentionRebuilds(t *testing.T) {
	s := openStore(t)
	ctx := t.Context()
	if _, err := s.UpsertProducts(ctx, []catalog.Product{{ID: "p1", Title: "Organic bananas"}}); err != nil {
		t.Fatal(err)
	}
	f := &flaky{Store: s}
	a := startSyncer(t, f, lexical.WithGapWait(100*time.Millisecond), lexical.WithRetention(300*time.Millisecond, time.Hour),
		lexical.WithPoll(50*time.Millisecond), lexical.WithLogger(slog.New(slog.DiscardHandler)))
	f.down.Store(true)
	if _, err := s.UpsertProducts(ctx, []catalog.Product{{ID: "p2", Title: "Fresh ginger root"}}); err != nil {
		t.Fatal(err)
	}
	// Another process trims the log while this one cannot read it.
	if _, err := s.DeleteProductChangesBefore(ctx, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond) // longer than the retention less the gap wait
	f.down.Store(false)
	within(t, 3*time.Second, "write found after the rebuild", func() bool { return slices.Equal(found(t, a, "ginger"), []string{"p2"}) })
}
