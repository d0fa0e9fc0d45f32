package lexical_test

import (
	"context"
	"slices"
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

func startSyncer(t *testing.T, s *store.Store, opts ...lexical.SyncOption) *lexical.Syncer {
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
