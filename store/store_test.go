package store_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/internal/testdb"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/store"
)

func open(t *testing.T) (*store.Store, context.Context) {
	t.Helper()
	ctx := t.Context()
	s, err := store.Open(ctx, testdb.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, ctx
}

func ptr[T any](v T) *T { return &v }

func product(id, title string) catalog.Product {
	return catalog.Product{ID: id, Title: title, Brand: "Acme", Category: []string{"Fruit", "Apple"}, Price: ptr(1.5), Currency: "EUR"}
}

func TestMigrationsFromEmpty(t *testing.T) {
	ctx := t.Context()
	admin, err := testdb.AdminURL(ctx)
	if err != nil {
		t.Fatal(err)
	}
	name, u, err := testdb.Create(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = testdb.Drop(context.Background(), admin, name) })

	first, err := store.Migrate(ctx, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) == 0 {
		t.Fatal("no migrations applied to an empty database")
	}
	again, err := store.Migrate(ctx, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 0 {
		t.Fatalf("second migrate applied %d migrations, want 0", len(again))
	}
	s, err := store.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var newest int64
	for _, r := range first {
		if !strings.HasPrefix(r.Source, "river/") {
			newest = max(newest, r.Version)
		}
	}
	if info.SchemaVersion != newest || newest == 0 {
		t.Errorf("schema version %d, want %d", info.SchemaVersion, newest)
	}
	var riverTable bool
	if err := store.RawPool(s).QueryRow(ctx, `SELECT to_regclass('river_job') IS NOT NULL`).Scan(&riverTable); err != nil || !riverTable {
		t.Errorf("River's job table missing after migrate (err %v)", err)
	}
	if info.PgvectorVersion != "0.8.0" {
		t.Errorf("pgvector %q, want 0.8.0", info.PgvectorVersion)
	}
	for _, table := range []string{"products", "embeddings", "vector_spaces", "product_vectors", "users", "events", "user_vectors", "api_keys"} {
		var exists bool
		if err := store.RawPool(s).QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, table).Scan(&exists); err != nil || !exists {
			t.Errorf("table %s missing (err %v)", table, err)
		}
	}
}

func TestUpsertProducts(t *testing.T) {
	s, ctx := open(t)
	a, b := product("a", "Golden apple"), product("b", "Banana")
	res, err := s.UpsertProducts(ctx, []catalog.Product{a, b})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Status != records.Inserted {
			t.Errorf("%s: %v, want inserted", r.ID, r.Status)
		}
	}
	b2 := b
	b2.Description = "Yellow and curved"
	res, err = s.UpsertProducts(ctx, []catalog.Product{a, b2})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]records.UpsertStatus{"a": records.Unchanged, "b": records.Updated}
	for _, r := range res {
		if r.Status != want[r.ID] {
			t.Errorf("%s: %v, want %v", r.ID, r.Status, want[r.ID])
		}
	}
	got, err := s.GetProduct(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	if got.Description != "Yellow and curved" || got.Price == nil || *got.Price != 1.5 || got.Currency != "EUR" {
		t.Errorf("stored product %+v", got)
	}
	// Deleted products vanish; re-upserting revives them as an update.
	if err := s.DeleteProduct(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetProduct(ctx, "a"); !errors.Is(err, records.ErrNotFound) {
		t.Errorf("deleted product: err %v, want records.ErrNotFound", err)
	}
	if err := s.DeleteProduct(ctx, "a"); !errors.Is(err, records.ErrNotFound) {
		t.Errorf("second delete: err %v, want records.ErrNotFound", err)
	}
	res, err = s.UpsertProducts(ctx, []catalog.Product{a})
	if err != nil || res[0].Status != records.Updated {
		t.Errorf("revive: %+v %v", res, err)
	}
}

func TestUpsertIsolatesBadRow(t *testing.T) {
	s, ctx := open(t)
	// A title the database rejects (empty, bypassing Validate) must fail alone.
	bad := product("bad", "x")
	bad.Title = ""
	res, err := s.UpsertProducts(ctx, []catalog.Product{product("ok1", "One"), bad, product("ok2", "Two")})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Status != records.Inserted || res[2].Status != records.Inserted {
		t.Errorf("good rows: %v %v", res[0].Status, res[2].Status)
	}
	if res[1].Status != records.Failed || res[1].Err == nil {
		t.Errorf("bad row: %+v", res[1])
	}
	if n, _ := s.CountProducts(ctx); n != 2 {
		t.Errorf("%d products stored, want 2", n)
	}
}

func TestEventsIdempotent(t *testing.T) {
	s, ctx := open(t)
	if _, err := s.UpsertProducts(ctx, []catalog.Product{product("p1", "Pear")}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	evs := []catalog.Event{
		{ClientEventID: "e1", UserID: "u1", ProductID: "p1", Type: catalog.View, OccurredAt: now},
		{ClientEventID: "e2", UserID: "u1", ProductID: "p1", Type: catalog.Rating, Value: ptr(4.5), OccurredAt: now.Add(time.Second)},
		{ClientEventID: "e3", UserID: "u1", ProductID: "nope", Type: catalog.Click, OccurredAt: now},
	}
	res, err := s.InsertEvents(ctx, evs)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Status != records.EventInserted || res[1].Status != records.EventInserted {
		t.Errorf("first insert: %+v", res)
	}
	if res[2].Status != records.EventFailed || !errors.Is(res[2].Err, records.ErrUnknownProduct) {
		t.Errorf("unknown product: %+v", res[2])
	}
	var upe *records.UnknownProductError
	if !errors.As(res[2].Err, &upe) || upe.IDs[0] != "nope" {
		t.Errorf("unknown product error does not name the id: %v", res[2].Err)
	}
	res, err = s.InsertEvents(ctx, evs[:2])
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Status != records.EventDuplicate {
			t.Errorf("retry of event %d: %v, want duplicate", i, r.Status)
		}
	}
	got, err := s.UserEvents(ctx, "u1", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Type != catalog.Rating || *got[0].Value != 4.5 {
		t.Errorf("user events %+v", got)
	}
	// Events are append-only.
	if _, err := store.RawPool(s).Exec(ctx, `UPDATE events SET type = 'purchase'`); err == nil {
		t.Error("updating an event succeeded; events must be append-only")
	}
	if err := s.DeleteUser(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.UserEvents(ctx, "u1", 10); len(got) != 0 {
		t.Errorf("events survive user deletion: %+v", got)
	}
}

// unit returns a unit vector in dim dimensions pointing mostly along axis a
// with a small component along b.
func unit(dim, a, b int, w float32) []float32 {
	v := make([]float32, dim)
	v[a] = 1
	v[b] += w
	n := float32(math.Sqrt(float64(1 + w*w)))
	for i := range v {
		v[i] /= n
	}
	return v
}

func TestNearestSelectiveFilter(t *testing.T) {
	s, ctx := open(t)
	const dim, n = 16, 3000
	sp, err := s.CreateSpace(ctx, records.NewSpace{Name: "test", Dim: dim})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ActivateSpace(ctx, sp.Version); err != nil {
		t.Fatal(err)
	}
	// 3,000 products near axis 0; only 5 "rare" ones, pointing far away
	// (axis 1), match the brand filter.
	var ps []catalog.Product
	var vs []records.ProductVector
	for i := range n {
		p := product(fmt.Sprintf("p%04d", i), fmt.Sprintf("Product %d", i))
		v := unit(dim, 0, 2+i%(dim-2), float32(i%97)/200)
		if i%600 == 7 {
			p.Brand = "Rare"
			v = unit(dim, 1, 2+i%(dim-2), float32(i%97)/200)
		}
		ps = append(ps, p)
		vs = append(vs, records.ProductVector{ProductID: p.ID, Vector: v, SourceHash: []byte{1}})
	}
	for i := 0; i < n; i += 500 {
		if _, err := s.UpsertProducts(ctx, ps[i:i+500]); err != nil {
			t.Fatal(err)
		}
		if err := s.PutProductVectors(ctx, sp.Version, vs[i:i+500]); err != nil {
			t.Fatal(err)
		}
	}
	query := unit(dim, 0, 2, 0)
	tests := []struct {
		name   string
		filter catalog.Filter
		k      int
		want   int
	}{
		{"no filter", catalog.Filter{}, 10, 10},
		{"selective brand, far neighbours", catalog.Filter{Brands: []string{"Rare"}}, 5, 5},
		{"more asked than match", catalog.Filter{Brands: []string{"Rare"}}, 10, 5},
		{"category prefix", catalog.Filter{Category: []string{"Fruit"}}, 20, 20},
		{"no match", catalog.Filter{Category: []string{"Vegetables"}}, 5, 0},
		{"price range", catalog.Filter{MinPrice: ptr(1.0), MaxPrice: ptr(2.0)}, 7, 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Nearest(ctx, records.NearestQuery{Space: sp.Version, Vector: query, K: tc.k, Filter: tc.filter})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.want {
				t.Fatalf("%d results, want %d", len(got), tc.want)
			}
			exact, err := s.Nearest(ctx, records.NearestQuery{Space: sp.Version, Vector: query, K: tc.k, Filter: tc.filter, Exact: true})
			if err != nil {
				t.Fatal(err)
			}
			for i := 1; i < len(got); i++ {
				if got[i].Distance < got[i-1].Distance-1e-6 {
					t.Errorf("results out of order at %d: %v < %v", i, got[i].Distance, got[i-1].Distance)
				}
			}
			if len(exact) != len(got) {
				t.Errorf("exact scan found %d, index %d", len(exact), len(got))
			}
			if len(got) > 0 && math.Abs(got[0].Distance-exact[0].Distance) > 1e-4 {
				t.Errorf("nearest distance %v, exact %v", got[0].Distance, exact[0].Distance)
			}
		})
	}
	// The rare products are far from the query but still returned.
	got, _ := s.Nearest(ctx, records.NearestQuery{Space: sp.Version, Vector: query, K: 5, Filter: catalog.Filter{Brands: []string{"Rare"}}})
	for _, h := range got {
		if h.Distance < 0.5 {
			t.Errorf("rare product %s at distance %v; the test meant them far", h.ProductID, h.Distance)
		}
	}
}

func TestBadInputTypedErrors(t *testing.T) {
	s, ctx := open(t)
	sp, err := s.CreateSpace(ctx, records.NewSpace{Dim: 4})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpsertProducts(ctx, []catalog.Product{product("p", "P")}); err != nil {
		t.Fatal(err)
	}
	var de *records.DimensionError
	err = s.PutProductVectors(ctx, sp.Version, []records.ProductVector{{ProductID: "p", Vector: []float32{1, 2, 3}, SourceHash: []byte{1}}})
	if !errors.As(err, &de) || de.Want != 4 || de.Got != 3 {
		t.Errorf("wrong dimension on write: %v", err)
	}
	_, err = s.Nearest(ctx, records.NearestQuery{Space: sp.Version, Vector: []float32{1, 0}, K: 3})
	if !errors.As(err, &de) || de.Want != 4 || de.Got != 2 {
		t.Errorf("wrong dimension on query: %v", err)
	}
	err = s.PutProductVectors(ctx, sp.Version, []records.ProductVector{{ProductID: "ghost", Vector: []float32{1, 0, 0, 0}, SourceHash: []byte{1}}})
	if !errors.Is(err, records.ErrUnknownProduct) {
		t.Errorf("unknown product: %v", err)
	}
	err = s.PutEmbeddings(ctx, []records.Embedding{{ProductID: "ghost", Model: "m@1", Modality: "text", InputHash: []byte{1}, Vector: []float32{1}}})
	if !errors.Is(err, records.ErrUnknownProduct) {
		t.Errorf("unknown product embedding: %v", err)
	}
	if _, err := s.Nearest(ctx, records.NearestQuery{Space: sp.Version, Vector: []float32{1, 0, 0, 0}, K: 0}); !errors.Is(err, catalog.ErrInvalid) {
		t.Errorf("k=0: %v", err)
	}
	if _, err := s.GetSpace(ctx, 999); !errors.Is(err, records.ErrNotFound) {
		t.Errorf("missing space: %v", err)
	}
	if _, err := s.CreateSpace(ctx, records.NewSpace{Dim: 5000}); !errors.Is(err, records.ErrTooManyDims) {
		t.Errorf("5000 dims: %v", err)
	}
	if _, err := s.ActiveSpace(ctx); !errors.Is(err, records.ErrNoActiveSpace) {
		t.Errorf("no active space: %v", err)
	}
}

func TestSpacesLifecycle(t *testing.T) {
	s, ctx := open(t)
	v1, err := s.CreateSpace(ctx, records.NewSpace{Name: "v1", Dim: 3})
	if err != nil {
		t.Fatal(err)
	}
	v2, err := s.CreateSpace(ctx, records.NewSpace{Name: "v2", Dim: 2500, DeferIndex: true})
	if err != nil {
		t.Fatal(err)
	}
	if v2.Storage != records.StorageHalfvec {
		t.Errorf("2500 dims stored as %s, want halfvec", v2.Storage)
	}
	if _, err := s.UpsertProducts(ctx, []catalog.Product{product("p", "P")}); err != nil {
		t.Fatal(err)
	}
	big := make([]float32, 2500)
	big[7] = 1
	if err := s.PutProductVectors(ctx, v2.Version, []records.ProductVector{{ProductID: "p", Vector: big, SourceHash: []byte{2}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.ActivateSpace(ctx, v1.Version); err != nil {
		t.Fatal(err)
	}
	if err := s.ActivateSpace(ctx, v2.Version); err != nil {
		t.Fatal(err)
	}
	act, err := s.ActiveSpace(ctx)
	if err != nil || act.Version != v2.Version {
		t.Fatalf("active %+v %v", act, err)
	}
	hits, err := s.Nearest(ctx, records.NearestQuery{Space: v2.Version, Vector: big, K: 1})
	if err != nil || len(hits) != 1 || hits[0].Distance > 1e-3 {
		t.Errorf("halfvec search: %+v %v", hits, err)
	}
	if err := s.DropSpace(ctx, v2.Version); !errors.Is(err, records.ErrConflict) {
		t.Errorf("dropping the active space: %v", err)
	}
	if err := s.DropSpace(ctx, v1.Version); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListSpaces(ctx)
	if err != nil || len(list) != 1 || list[0].Vectors != 1 {
		t.Errorf("spaces after drop: %+v %v", list, err)
	}
}

func TestAPIKeys(t *testing.T) {
	s, ctx := open(t)
	k, token, err := s.CreateAPIKey(ctx, "shop", []records.Scope{records.ScopeWrite})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.AuthenticateAPIKey(ctx, token)
	if err != nil || got.ID != k.ID || !got.Allows(records.ScopeRead) || got.Allows(records.ScopeAdmin) {
		t.Fatalf("authenticate: %+v %v", got, err)
	}
	var stored []byte
	if err := store.RawPool(s).QueryRow(ctx, `SELECT secret_hash FROM api_keys WHERE id = $1`, k.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if len(stored) != 32 {
		t.Errorf("stored %d bytes, want a 32-byte hash", len(stored))
	}
	for _, bad := range []string{"", "vk_", token + "x", "vk_" + k.ID + "_00"} {
		if _, err := s.AuthenticateAPIKey(ctx, bad); !errors.Is(err, records.ErrNotFound) {
			t.Errorf("token %q: %v", bad, err)
		}
	}
	if err := s.RevokeAPIKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AuthenticateAPIKey(ctx, token); !errors.Is(err, records.ErrRevoked) {
		t.Errorf("revoked key: %v", err)
	}
}

func TestUserVectors(t *testing.T) {
	s, ctx := open(t)
	sp, err := s.CreateSpace(ctx, records.NewSpace{Dim: 3})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpsertProducts(ctx, []catalog.Product{product("p", "P")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.InsertEvents(ctx, []catalog.Event{{ClientEventID: "1", UserID: "u", ProductID: "p", Type: catalog.View, OccurredAt: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	if err := s.PutUserVector(ctx, records.UserVector{UserID: "u", Space: sp.Version, Vector: []float32{1, 0, 0}, Weight: 2, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	uv, err := s.GetUserVector(ctx, "u", sp.Version)
	if err != nil || uv.Weight != 2 || uv.Vector[0] != 1 || !uv.UpdatedAt.Equal(now) {
		t.Errorf("user vector %+v %v", uv, err)
	}
	var de *records.DimensionError
	if err := s.PutUserVector(ctx, records.UserVector{UserID: "u", Space: sp.Version, Vector: []float32{1}}); !errors.As(err, &de) {
		t.Errorf("wrong dimension: %v", err)
	}
	if err := s.PutUserVector(ctx, records.UserVector{UserID: "nobody", Space: sp.Version, Vector: []float32{1, 0, 0}}); !errors.Is(err, records.ErrNotFound) {
		t.Errorf("unknown user: %v", err)
	}
	if err := s.DeleteUser(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetUserVector(ctx, "u", sp.Version); !errors.Is(err, records.ErrNotFound) {
		t.Errorf("vector survives user deletion: %v", err)
	}
}
