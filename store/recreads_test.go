package store_test

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/records"
)

// The batched reads of recommendations answer what the single reads they
// replace answer: the user's purchases, events, vector and active factors
// (before and after a model is trained, with and without a vector), and
// the candidates' liveness, brand, category, vector and factors (with and
// without a model, and after a product is deleted; an unknown id is
// absent).
func TestRecReadsMatchSingleReads(t *testing.T) {
	s, ctx := open(t)
	ps := []catalog.Product{product("a", "A"), product("b", "B"), product("c", "C")}
	ps[1].Brand, ps[1].Category = "Orchard", nil
	if _, err := s.UpsertProducts(ctx, ps); err != nil {
		t.Fatal(err)
	}
	sp, err := s.CreateSpace(ctx, records.NewSpace{Name: "t", Dim: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutProductVectors(ctx, sp.Version, []records.ProductVector{
		{ProductID: "a", Vector: []float32{1, 0}, SourceHash: []byte{1}}, {ProductID: "c", Vector: []float32{0, 1}, SourceHash: []byte{1}}}); err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Truncate(time.Microsecond)
	if _, err := s.InsertEvents(ctx, []catalog.Event{
		{ClientEventID: "1", UserID: "u", ProductID: "a", Type: catalog.Purchase, OccurredAt: at},
		{ClientEventID: "2", UserID: "u", ProductID: "b", Type: catalog.View, OccurredAt: at.Add(time.Second)},
		{ClientEventID: "3", UserID: "u", ProductID: "a", Type: catalog.Purchase, OccurredAt: at.Add(2 * time.Second)},
		{ClientEventID: "4", UserID: "v", ProductID: "c", Type: catalog.Click, OccurredAt: at},
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutUserVector(ctx, records.UserVector{UserID: "u", Space: sp.Version, Vector: []float32{0.5, 0.5}, Weight: 1, UpdatedAt: at}); err != nil {
		t.Fatal(err)
	}
	check := func(step string) {
		t.Helper()
		for _, uid := range []string{"u", "v", "nobody"} {
			got, err := s.RecUser(ctx, uid, sp.Version, 2)
			if err != nil {
				t.Fatalf("%s, %s: %v", step, uid, err)
			}
			var want records.RecUser
			want.Purchased, _ = s.Purchased(ctx, uid)
			want.Events, _ = s.UserEvents(ctx, uid, 2)
			if uv, err := s.GetUserVector(ctx, uid, sp.Version); err == nil {
				want.Vector = uv.Vector
			}
			if want.CFVersion, want.Factors, err = s.ActiveUserFactors(ctx, uid); err != nil && !errors.Is(err, records.ErrNoCFModel) {
				t.Fatal(err)
			}
			if len(got.Purchased) == 0 && len(want.Purchased) == 0 {
				got.Purchased, want.Purchased = nil, nil
			}
			if len(got.Events) == 0 && len(want.Events) == 0 {
				got.Events, want.Events = nil, nil
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s, %s: %+v, want %+v", step, uid, got, want)
			}
		}
		cf, _ := s.ActiveCFVersion(ctx)
		ids := []string{"a", "b", "c", "ghost"}
		got, err := s.CandidateFeatures(ctx, sp.Version, cf, ids)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		live, _ := s.GetProducts(ctx, ids)
		vecs, _ := s.ProductVectors(ctx, sp.Version, ids)
		factors, _ := s.ItemFactors(ctx, cf, ids)
		for _, id := range ids {
			p, ok := live[id]
			want := records.CandidateFeatures{Live: ok, Brand: p.Brand, Category: p.Category, Vector: vecs[id], Factors: factors[id]}
			f, found := got[id]
			if found != (ok || vecs[id] != nil || factors[id] != nil) || (found && !reflect.DeepEqual(f, want)) {
				t.Errorf("%s, %s: %+v (found %v), want %+v", step, id, f, found, want)
			}
		}
	}
	check("no model")
	if _, err := s.SaveCFModel(ctx, records.CFModel{Method: "als", Dim: 2, Gram: []float64{1, 0, 0, 1}},
		map[string][]float32{"u": {1, 2}}, map[string][]float32{"a": {1, 0}, "b": {0, 1}, "c": {1, 1}}); err != nil {
		t.Fatal(err)
	}
	check("trained")
	if err := s.DeleteProduct(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	check("c deleted")
}

// A user's stored retrieval's digest and time come back with RecUser and
// its payload from UserRetrievalPayload for that digest only (nil for
// another); the next one stored replaces it; a user the store does not
// know gets none (no error), and erasing the user erases it.
func TestUserRetrievalStored(t *testing.T) {
	s, ctx := open(t)
	if _, err := s.UpsertProducts(ctx, []catalog.Product{product("a", "A")}); err != nil {
		t.Fatal(err)
	}
	sp, err := s.CreateSpace(ctx, records.NewSpace{Name: "t", Dim: 2})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Truncate(time.Microsecond)
	if _, err := s.InsertEvents(ctx, []catalog.Event{{ClientEventID: "1", UserID: "u", ProductID: "a", Type: catalog.View, OccurredAt: at}}); err != nil {
		t.Fatal(err)
	}
	// stored is what RecUser reads, with the payload read for its digest
	// and for another.
	stored := func(uid string) (records.StoredRetrieval, []byte) {
		t.Helper()
		u, err := s.RecUser(ctx, uid, sp.Version, 5)
		if err != nil {
			t.Fatal(err)
		}
		r := u.Retrieval
		if r.Payload != nil {
			t.Errorf("RecUser read the payload %q", r.Payload)
		}
		if r.Payload, err = s.UserRetrievalPayload(ctx, uid, r.Digest); err != nil {
			t.Fatal(err)
		}
		other, err := s.UserRetrievalPayload(ctx, uid, []byte{99})
		if err != nil {
			t.Fatal(err)
		}
		return r, other
	}
	steps := []struct {
		name string
		user string
		save *records.StoredRetrieval
		want records.StoredRetrieval
	}{
		{"nothing stored", "u", nil, records.StoredRetrieval{}},
		{"first", "u", &records.StoredRetrieval{Digest: []byte{1}, Payload: []byte("one"), At: at}, records.StoredRetrieval{Digest: []byte{1}, Payload: []byte("one"), At: at}},
		{"replaced", "u", &records.StoredRetrieval{Digest: []byte{2}, Payload: []byte("two"), At: at.Add(time.Second)}, records.StoredRetrieval{Digest: []byte{2}, Payload: []byte("two"), At: at.Add(time.Second)}},
		{"unknown user", "nobody", &records.StoredRetrieval{Digest: []byte{3}, Payload: []byte("x"), At: at}, records.StoredRetrieval{}},
	}
	for _, st := range steps {
		if st.save != nil {
			if err := s.SaveUserRetrieval(ctx, st.user, *st.save); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
		}
		got, other := stored(st.user)
		if !reflect.DeepEqual(got.Digest, st.want.Digest) || !reflect.DeepEqual(got.Payload, st.want.Payload) || !got.At.Equal(st.want.At) || other != nil {
			t.Errorf("%s: stored %+v (another digest's payload %q), want %+v (none)", st.name, got, other, st.want)
		}
	}
	if err := s.DeleteUser(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	if got, _ := stored("u"); got.Digest != nil || got.Payload != nil {
		t.Errorf("after the user was erased: stored %+v, want none", got)
	}
}

// Pruning empties the payloads stored before the time given and keeps
// every row's digest and time (the row says the user has asked); the
// payloads stored since are kept.
func TestPruneUserRetrievals(t *testing.T) {
	s, ctx := open(t)
	if _, err := s.UpsertProducts(ctx, []catalog.Product{product("a", "A")}); err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Truncate(time.Microsecond)
	users := map[string]time.Time{"old": at.Add(-time.Hour), "new": at}
	for u, when := range users {
		if _, err := s.InsertEvents(ctx, []catalog.Event{{ClientEventID: u, UserID: u, ProductID: "a", Type: catalog.View, OccurredAt: at}}); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveUserRetrieval(ctx, u, records.StoredRetrieval{Digest: []byte(u), Payload: []byte("payload of " + u), At: when}); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []int64{1, 0} { // the second prune finds nothing left to empty
		n, err := s.PruneUserRetrievals(ctx, at.Add(-time.Minute))
		if err != nil || n != want {
			t.Fatalf("pruned %d, %v; want %d", n, err, want)
		}
	}
	for u, want := range map[string]string{"old": "", "new": "payload of new"} {
		r, err := s.RecUser(ctx, u, 1, 1)
		if err != nil {
			t.Fatal(err)
		}
		p, err := s.UserRetrievalPayload(ctx, u, []byte(u))
		if err != nil || string(p) != want || string(r.Retrieval.Digest) != u || !r.Retrieval.At.Equal(users[u]) {
			t.Errorf("%s: digest %q at %s payload %q (%v), want %q at %s payload %q", u, r.Retrieval.Digest, r.Retrieval.At, p, err, u, users[u], want)
		}
	}
}

// RecentRetrievalUsers lists the users with stored retrievals, the
// latest stored first, at most n.
func TestRecentRetrievalUsers(t *testing.T) {
	s, ctx := open(t)
	if _, err := s.UpsertProducts(ctx, []catalog.Product{product("a", "A")}); err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Truncate(time.Microsecond)
	for i, u := range []string{"u1", "u2", "u3", "u4"} {
		if _, err := s.InsertEvents(ctx, []catalog.Event{{ClientEventID: u, UserID: u, ProductID: "a", Type: catalog.View, OccurredAt: at}}); err != nil {
			t.Fatal(err)
		}
		if u == "u4" {
			continue // never asked
		}
		r := records.StoredRetrieval{Digest: []byte{1}, Payload: []byte{2}, At: at.Add(time.Duration([]int{2, 3, 1}[i]) * time.Second)}
		if err := s.SaveUserRetrieval(ctx, u, r); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		n    int
		want []string
	}{
		{10, []string{"u2", "u1", "u3"}},
		{2, []string{"u2", "u1"}},
	} {
		got, err := s.RecentRetrievalUsers(ctx, tc.n)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("n %d: %v, %v; want %v", tc.n, got, err, tc.want)
		}
	}
}
