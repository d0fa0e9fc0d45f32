package serving_test

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/serving"
)

// A user's retrieval is shared by every process through the store: once
// the user has asked (and their retrieval is stored), the process that
// records their event refreshes it in the background,
// and another process's next request serves it without retrieving,
// exactly what a retrieval afresh serves. A request whose inputs changed
// (an event recorded with refreshes off) retrieves afresh and stores what
// it found for the others; a stored retrieval older than the TTL is not
// reused.
func TestSharedRetrievalAcrossProcesses(t *testing.T) {
	b := grocery()
	b.cf = &records.CFModel{Version: 3, Method: "bpr", Dim: 2}
	b.userFactors["u"] = []float32{1, 0}
	for id, f := range map[string][]float32{"apple-red": {1, 0}, "apple-green": {1, 0}, "pear": {0.5, 0}, "milk": {0.1, 0.5}, "cheese": {0.2, 0.4}} {
		b.itemFactors[id] = f
	}
	b.popular = []records.Scored{{ProductID: "milk", Score: 5}, {ProductID: "cheese", Score: 3}}
	b.userVecs["u"] = records.UserVector{UserID: "u", Space: 1, Vector: []float32{0.2, 0.8}}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := at
	clock := serving.WithClock(func() time.Time { return now })
	search := serving.WithContentLists(0, 0)                                  // a retrieval searches the index
	recorder := newService(t, b, clock, search)                               // records events, refreshes
	other := newService(t, b, clock, search)                                  // serves, stores what it retrieves
	quiet := newService(t, b, clock, search, serving.WithRetrievalRefresh(0)) // records events, refreshes nothing
	afresh := newService(t, b, clock, search, serving.WithRetrievalTTL(0))    // the reference: every retrieval afresh
	event := func(s *serving.Service, id, product string, typ catalog.EventType) func() {
		return func() {
			if _, err := s.AddEvents(t.Context(), []catalog.Event{{ClientEventID: id, UserID: "u", ProductID: product, Type: typ, OccurredAt: now}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	steps := []struct {
		name      string
		change    func()
		serve     *serving.Service
		retrieved bool // the serving process searched nearest products itself
	}{
		{"first request, stored", func() {}, other, true},
		{"event recorded by another process", event(recorder, "1", "apple-red", catalog.Purchase), other, false},
		{"same state, the recording process", func() {}, recorder, false},
		{"event with refreshes off", event(quiet, "2", "milk", catalog.View), other, true},
		{"the recording process after the other stored", func() {}, recorder, false},
		{"31 s later", func() { now = now.Add(31 * time.Second) }, other, true},
	}
	for _, st := range steps {
		st.change()
		recorder.WaitRefreshes()
		other.WaitRefreshes()
		b.mu.Lock()
		before := len(b.nearest)
		b.mu.Unlock()
		got, err := st.serve.Recommend(t.Context(), serving.RecommendRequest{UserID: "u"})
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		b.mu.Lock()
		searched := len(b.nearest) > before
		b.mu.Unlock()
		if searched != st.retrieved {
			t.Errorf("%s: retrieved %v, want %v", st.name, searched, st.retrieved)
		}
		want, err := afresh.Recommend(t.Context(), serving.RecommendRequest{UserID: "u"})
		if err != nil {
			t.Fatal(err)
		}
		if got.Strategy != serving.StrategyHybrid || len(got.Hits) == 0 || !reflect.DeepEqual(got.Hits, want.Hits) {
			t.Errorf("%s: %s %+v, want what a retrieval afresh serves: %+v", st.name, got.Strategy, got.Hits, want.Hits)
		}
		other.WaitRefreshes()
	}
}

// Every user who has asked for recommendations has their retrieval
// refreshed when their events arrive, however few the workers (the rest
// wait in a queue); a user who never asked gets none (a bulk load of
// events retrieves for no one); with no workers nothing is refreshed.
func TestRefreshAfterEvents(t *testing.T) {
	for _, workers := range []int{0, 1, 3} {
		b := grocery()
		b.cf = &records.CFModel{Version: 3, Method: "bpr", Dim: 2}
		s := newService(t, b, serving.WithRetrievalRefresh(workers))
		event := func(i int, product string) catalog.Event {
			return catalog.Event{ClientEventID: fmt.Sprint(product, i), UserID: fmt.Sprintf("u%d", i), ProductID: product, Type: catalog.View, OccurredAt: time.Now()}
		}
		var first, next []catalog.Event
		for i := range 20 {
			first, next = append(first, event(i, "pear")), append(next, event(i, "milk"))
		}
		if _, err := s.AddEvents(t.Context(), first); err != nil {
			t.Fatal(err)
		}
		s.WaitRefreshes()
		stored := func() map[string][]byte {
			b.mu.Lock()
			defer b.mu.Unlock()
			out := map[string][]byte{}
			for u, r := range b.retrievals {
				out[u] = r.Digest
			}
			return out
		}
		if got := stored(); len(got) != 0 {
			t.Errorf("%d workers: %d retrievals stored for users who never asked", workers, len(got))
		}
		for i := range 10 { // half the users ask; their retrieval is stored
			if _, err := s.Recommend(t.Context(), serving.RecommendRequest{UserID: fmt.Sprintf("u%d", i)}); err != nil {
				t.Fatal(err)
			}
		}
		s.WaitRefreshes()
		asked := stored()
		if _, err := s.AddEvents(t.Context(), next); err != nil {
			t.Fatal(err)
		}
		s.WaitRefreshes()
		refreshed := 0
		for u, d := range stored() {
			if !bytes.Equal(d, asked[u]) {
				refreshed++
			}
		}
		want := 10
		if workers == 0 {
			want = 0
		}
		if len(asked) != want || refreshed != want {
			t.Errorf("%d workers: %d asked stored, %d refreshed, want %d and %d", workers, len(asked), refreshed, want, want)
		}
	}
}

// gatedNearest holds every nearest-product search until want searches
// have started or the gate's wait is over, and counts them.
type gatedNearest struct {
	*memBackend
	mu       sync.Mutex
	started  int
	want     int
	all, end chan struct{}
}

func (g *gatedNearest) Nearest(ctx context.Context, q records.NearestQuery) ([]records.Neighbor, error) {
	g.mu.Lock()
	g.started++
	if g.started == g.want {
		close(g.all)
	}
	g.mu.Unlock()
	select {
	case <-g.all:
	case <-g.end:
	}
	return g.memBackend.Nearest(ctx, q)
}

// Concurrent requests for a user whose inputs are new (a page that posts
// an event and asks for recommendations at once, several widgets) run
// one retrieval, which the others wait for, and all get its lists.
func TestConcurrentRequestsRetrieveOnce(t *testing.T) {
	b := grocery()
	b.cf = &records.CFModel{Version: 3, Method: "bpr", Dim: 2}
	b.userFactors["u"] = []float32{1, 0}
	b.userVecs["u"] = records.UserVector{UserID: "u", Space: 1, Vector: []float32{0.2, 0.8}}
	const requests = 4
	g := &gatedNearest{memBackend: b, want: requests, all: make(chan struct{}), end: make(chan struct{})}
	s, err := serving.New(serving.DepsFrom(g, words, nil))
	if err != nil {
		t.Fatal(err)
	}
	// Without sharing, every request reaches the search and the gate
	// opens at once; with it, only the first does and the gate opens when
	// its wait is over.
	time.AfterFunc(200*time.Millisecond, func() { close(g.end) })
	var wg sync.WaitGroup
	lists := make([][]string, requests)
	for i := range requests {
		wg.Go(func() {
			res, err := s.Recommend(t.Context(), serving.RecommendRequest{UserID: "u"})
			if err != nil {
				t.Error(err)
			}
			lists[i] = serving.IDs(res.Hits)
		})
	}
	wg.Wait()
	if g.started != 1 {
		t.Errorf("%d nearest-product searches for %d concurrent requests, want 1", g.started, requests)
	}
	for i, l := range lists {
		if len(l) == 0 || !reflect.DeepEqual(l, lists[0]) {
			t.Errorf("request %d: %v, want the first's %v", i, l, lists[0])
		}
	}
}

// A Service that stores retrievals empties, at most once a minute, the
// stored payloads older than its retrieval TTL, keeping their digests:
// the user still counts as one who asked, so their events refresh it.
func TestStoredRetrievalsPruned(t *testing.T) {
	b := grocery()
	b.cf = &records.CFModel{Version: 3, Method: "bpr", Dim: 2}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := newService(t, b, serving.WithClock(func() time.Time { return now }))
	ask := func(u string) {
		t.Helper()
		b.userVecs[u] = records.UserVector{UserID: u, Space: 1, Vector: []float32{1, 0}}
		if _, err := s.Recommend(t.Context(), serving.RecommendRequest{UserID: u}); err != nil {
			t.Fatal(err)
		}
		s.WaitRefreshes()
	}
	payload := func(u string) int {
		b.mu.Lock()
		defer b.mu.Unlock()
		return len(b.retrievals[u].Payload)
	}
	ask("early")
	now = now.Add(2 * time.Minute)
	ask("late") // its store prunes what is older than the TTL
	if payload("early") != 0 || payload("late") == 0 {
		t.Fatalf("payloads early %d, late %d bytes: want the early one emptied", payload("early"), payload("late"))
	}
	if _, err := s.AddEvents(t.Context(), []catalog.Event{{ClientEventID: "1", UserID: "early", ProductID: "milk", Type: catalog.View, OccurredAt: now}}); err != nil {
		t.Fatal(err)
	}
	s.WaitRefreshes()
	if payload("early") == 0 {
		t.Error("the early user's event refreshed nothing")
	}
}
