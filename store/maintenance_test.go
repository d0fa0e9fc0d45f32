package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/internal/testdb"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/store"
)

func TestDatabaseComment(t *testing.T) {
	s, ctx := open(t)
	if _, err := s.DatabaseComment(ctx); !errors.Is(err, records.ErrNotFound) {
		t.Fatalf("comment of a fresh database: err %v, want records.ErrNotFound", err)
	}
	tests := []struct{ name, text string }{
		{"json", `{"load_seconds": 1.5}`},
		{"quotes and percent", `it's 100% "quoted"`},
		{"empty", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.SetDatabaseComment(ctx, tc.text); err != nil {
				t.Fatal(err)
			}
			got, err := s.DatabaseComment(ctx)
			if tc.text == "" {
				// PostgreSQL drops an empty comment.
				if !errors.Is(err, records.ErrNotFound) {
					t.Fatalf("after an empty comment: %q, %v; want records.ErrNotFound", got, err)
				}
				return
			}
			if err != nil || got != tc.text {
				t.Fatalf("comment %q, %v; want %q", got, err, tc.text)
			}
		})
	}
}

func TestDatabaseSizeAndAnalyze(t *testing.T) {
	s, ctx := open(t)
	before, err := s.DatabaseSize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if before <= 0 {
		t.Fatalf("database size %d, want > 0", before)
	}
	var ps []catalog.Product
	for i := range 2000 {
		p := product(fmt.Sprintf("p%04d", i), fmt.Sprintf("Product number %d with a longer title", i))
		p.Description = fmt.Sprintf("%0500d", i)
		ps = append(ps, p)
	}
	if _, err := s.UpsertProducts(ctx, ps); err != nil {
		t.Fatal(err)
	}
	if err := s.Analyze(ctx); err != nil {
		t.Fatal(err)
	}
	after, err := s.DatabaseSize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after <= before {
		t.Errorf("size %d after loading 2,000 products, %d before", after, before)
	}
}

func TestSpaceIndexScans(t *testing.T) {
	s, ctx := open(t)
	const dim = 8
	sp, err := s.CreateSpace(ctx, records.NewSpace{Name: "scans", Dim: dim})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s.SpaceIndexScans(ctx, sp.Version); err != nil || n != 0 {
		t.Fatalf("scans of an unused index: %d, %v; want 0", n, err)
	}
	if n, err := s.SpaceIndexScans(ctx, sp.Version+100); err != nil || n != 0 {
		t.Fatalf("scans of a space that does not exist: %d, %v; want 0", n, err)
	}
	if err := s.ActivateSpace(ctx, sp.Version); err != nil {
		t.Fatal(err)
	}
	var ps []catalog.Product
	var vs []records.ProductVector
	for i := range 3000 {
		p := product(fmt.Sprintf("p%04d", i), fmt.Sprintf("Product %d", i))
		ps = append(ps, p)
		vs = append(vs, records.ProductVector{ProductID: p.ID, Vector: unit(dim, 0, 1+i%(dim-1), float32(i%50)/100), SourceHash: []byte{1}})
	}
	if _, err := s.UpsertProducts(ctx, ps); err != nil {
		t.Fatal(err)
	}
	if err := s.PutProductVectors(ctx, sp.Version, vs); err != nil {
		t.Fatal(err)
	}
	if err := s.Analyze(ctx); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if _, err := s.Nearest(ctx, records.NearestQuery{Space: sp.Version, Vector: unit(dim, 0, 1, 0), K: 5}); err != nil {
			t.Fatal(err)
		}
	}
	// Backends publish their statistics about a second after going idle.
	var n int64
	for deadline := time.Now().Add(20 * time.Second); n == 0 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		if n, err = s.SpaceIndexScans(ctx, sp.Version); err != nil {
			t.Fatal(err)
		}
	}
	if n == 0 {
		t.Fatal("no index scans counted after five nearest-neighbour queries")
	}
}

type noopArgs struct{}

func (noopArgs) Kind() string { return "test.noop" }

func TestJobDriverAndPendingJobs(t *testing.T) {
	s, ctx := open(t)
	c, err := river.NewClient(s.JobDriver(), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s.PendingJobs(ctx, "q1"); err != nil || n != 0 {
		t.Fatalf("pending jobs of an empty queue: %d, %v", n, err)
	}
	params := []river.InsertManyParams{
		{Args: noopArgs{}, InsertOpts: &river.InsertOpts{Queue: "q1"}},
		{Args: noopArgs{}, InsertOpts: &river.InsertOpts{Queue: "q1", ScheduledAt: time.Now().Add(time.Hour)}},
		{Args: noopArgs{}, InsertOpts: &river.InsertOpts{Queue: "q2"}},
	}
	if _, err := c.InsertMany(ctx, params); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		queue string
		want  int64
	}{{"q1", 2}, {"q2", 1}, {"q3", 0}}
	for _, tc := range tests {
		if n, err := s.PendingJobs(ctx, tc.queue); err != nil || n != tc.want {
			t.Errorf("pending jobs of %s: %d, %v; want %d", tc.queue, n, err, tc.want)
		}
	}
}

func TestPrepareDatabase(t *testing.T) {
	ctx := t.Context()
	server := testdb.URL(t)
	name := fmt.Sprintf("vitrine_prepare_%d", time.Now().UnixNano())
	t.Cleanup(func() {
		admin, err := testdb.AdminURL(context.Background())
		if err == nil {
			_ = testdb.Drop(context.Background(), admin, name)
		}
	})
	u, reused, err := store.PrepareDatabase(ctx, server, name, true)
	if err != nil || reused {
		t.Fatalf("first prepare: reused %v, err %v", reused, err)
	}
	s, err := store.Open(ctx, u, store.WithMigrate())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetDatabaseComment(ctx, "kept"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	tests := []struct {
		name        string
		reuse       bool
		wantComment bool
	}{{"reuse keeps it", true, true}, {"no reuse recreates it", false, false}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, reused, err := store.PrepareDatabase(ctx, server, name, tc.reuse)
			if err != nil || reused != tc.reuse {
				t.Fatalf("reused %v, err %v", reused, err)
			}
			s, err := store.Open(ctx, u, store.WithMigrate())
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			_, err = s.DatabaseComment(ctx)
			if got := err == nil; got != tc.wantComment {
				t.Errorf("comment kept %v, want %v (err %v)", got, tc.wantComment, err)
			}
		})
	}
}
