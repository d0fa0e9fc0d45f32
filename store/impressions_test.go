package store_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/store"
)

func impID(n int) string { return fmt.Sprintf("00000000-0000-7000-8000-%012d", n) }

// seedOnline stores a small, hand-checked history of impressions and
// events, two days old, and returns the time the first lists were served.
//
//	impression  user  experiment/variant  surface          products  served
//	1           u1    exp/control         search           p1 p2     t0
//	2           u1    exp/control         recommendations  p2 p3     t0+10m
//	3           u2    exp/treatment       search           p1 p3     t0
//	4           u3    exp/treatment       search           p4        t0
//	5           -     exp/control         similar          p1 p2     t0
//	6           u4    exp/control         search           p1        t0
//	7           u1    old/a               search           p1        t0-1m
//	8           u5    exp/treatment       search           p2        t0-3d
//
//	event                                   attributed to (30 min clicks, 24 h purchases)
//	u1 click p2 at t0+15m                   2 (last touch: 2 is newer than 1)
//	u1 click p1 at t0+5m                    1 (newer than 7)
//	u1 purchase p3 at t0+5h                 2
//	u1 view p1 at t0+1m                     - (views do not count)
//	u1 purchase p4, impression 1, t0+30h    - (after the 24 h window)
//	u2 click p3 at t0+45m                   - (after the 30 min window; 3 with a 1 h window)
//	u2 purchase p1, impression 3, t0+1h     3 (exact, whatever the product)
//	u3 click p4, impression 4, t0-1m        4 (exact: a client clock running late is fine)
//	u3 purchase p4 at t0+25h                - (after the 24 h window)
//	u9 click p1, impression 5, t0+1m        5 (an anonymous list)
//	u6 click p1 at t0                       - (u6 was shown nothing)
func seedOnline(t *testing.T, s *store.Store) time.Time {
	t.Helper()
	ctx := t.Context()
	var ps []catalog.Product
	for i := 1; i <= 4; i++ {
		ps = append(ps, product(fmt.Sprintf("p%d", i), fmt.Sprintf("Product %d", i)))
	}
	if _, err := s.UpsertProducts(ctx, ps); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().UTC().Add(-48 * time.Hour).Truncate(time.Second)
	m := time.Minute
	imps := []records.Impression{
		{ID: impID(1), UserID: "u1", Surface: records.SurfaceSearch, Experiment: "exp", Variant: "control", ProductIDs: []string{"p1", "p2"}, ServedAt: t0},
		{ID: impID(2), UserID: "u1", Surface: records.SurfaceRecommendations, Experiment: "exp", Variant: "control", ProductIDs: []string{"p2", "p3"}, ServedAt: t0.Add(10 * m)},
		{ID: impID(3), UserID: "u2", Surface: records.SurfaceSearch, Experiment: "exp", Variant: "treatment", ProductIDs: []string{"p1", "p3"}, ServedAt: t0},
		{ID: impID(4), UserID: "u3", Surface: records.SurfaceSearch, Experiment: "exp", Variant: "treatment", ProductIDs: []string{"p4"}, ServedAt: t0},
		{ID: impID(5), Surface: records.SurfaceSimilar, Experiment: "exp", Variant: "control", ProductIDs: []string{"p1", "p2"}, ServedAt: t0},
		{ID: impID(6), UserID: "u4", Surface: records.SurfaceSearch, Experiment: "exp", Variant: "control", ProductIDs: []string{"p1"}, ServedAt: t0},
		{ID: impID(7), UserID: "u1", Surface: records.SurfaceSearch, Experiment: "old", Variant: "a", ProductIDs: []string{"p1"}, ServedAt: t0.Add(-m)},
		{ID: impID(8), UserID: "u5", Surface: records.SurfaceSearch, Experiment: "exp", Variant: "treatment", ProductIDs: []string{"p2"}, ServedAt: t0.Add(-72 * time.Hour)},
	}
	if err := s.InsertImpressions(ctx, imps); err != nil {
		t.Fatal(err)
	}
	// Writing a batch again (a retry after a lost commit) changes nothing.
	if err := s.InsertImpressions(ctx, imps[:2]); err != nil {
		t.Fatalf("re-insert: %v", err)
	}
	ev := func(id, user, p string, typ catalog.EventType, at time.Time, imp string) catalog.Event {
		return catalog.Event{ClientEventID: id, UserID: user, ProductID: p, Type: typ, OccurredAt: at, ImpressionID: imp}
	}
	evs := []catalog.Event{
		ev("a", "u1", "p2", catalog.Click, t0.Add(15*m), ""),
		ev("b", "u1", "p1", catalog.Click, t0.Add(5*m), ""),
		ev("c", "u1", "p3", catalog.Purchase, t0.Add(5*time.Hour), ""),
		ev("d", "u1", "p1", catalog.View, t0.Add(m), ""),
		ev("e", "u1", "p4", catalog.Purchase, t0.Add(30*time.Hour), impID(1)),
		ev("f", "u2", "p3", catalog.Click, t0.Add(45*m), ""),
		ev("g", "u2", "p1", catalog.Purchase, t0.Add(time.Hour), impID(3)),
		ev("h", "u3", "p4", catalog.Click, t0.Add(-m), impID(4)),
		ev("i", "u3", "p4", catalog.Purchase, t0.Add(25*time.Hour), ""),
		ev("j", "u9", "p1", catalog.Click, t0.Add(m), impID(5)),
		ev("k", "u6", "p1", catalog.Click, t0, ""),
	}
	res, err := s.InsertEvents(ctx, evs)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Status != records.EventInserted {
			t.Fatalf("event %d: %+v", i, r)
		}
	}
	return t0
}

type onlineKey struct{ exp, variant, surface string }

func onlineByKey(t *testing.T, s *store.Store, q records.OnlineQuery) map[onlineKey]records.OnlineCount {
	t.Helper()
	rows, err := s.OnlineMetrics(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	out := map[onlineKey]records.OnlineCount{}
	for _, r := range rows {
		out[onlineKey{r.Experiment, r.Variant, r.Surface}] = r
	}
	return out
}

func TestOnlineMetricsAttribution(t *testing.T) {
	s, _ := open(t)
	t0 := seedOnline(t, s)
	base := records.OnlineQuery{Since: t0.Add(-time.Hour), Until: time.Now(), Experiment: "exp",
		ClickWindow: 30 * time.Minute, ConversionWindow: 24 * time.Hour}
	type counts struct{ lists, users, clicked, converted, anon int64 }
	check := func(t *testing.T, got map[onlineKey]records.OnlineCount, want map[onlineKey]counts) {
		t.Helper()
		for k, w := range want {
			g, ok := got[k]
			if !ok {
				t.Errorf("%v: no row", k)
				continue
			}
			if (counts{g.Lists, g.Users, g.Clicked, g.Converted, g.Anonymous}) != w {
				t.Errorf("%v: lists %d users %d clicked %d converted %d anonymous %d, want %+v", k, g.Lists, g.Users, g.Clicked, g.Converted, g.Anonymous, w)
			}
		}
		if len(got) != len(want) {
			t.Errorf("%d rows, want %d: %+v", len(got), len(want), got)
		}
	}

	t.Run("default windows", func(t *testing.T) {
		check(t, onlineByKey(t, s, base), map[onlineKey]counts{
			{"exp", "control", ""}:                {3, 2, 2, 1, 1}, // 1, 2, 6 (5 is anonymous)
			{"exp", "control", "search"}:          {2, 2, 1, 0, 0}, // 1 clicked, 6 nothing
			{"exp", "control", "recommendations"}: {1, 1, 1, 1, 0}, // 2 clicked and bought
			{"exp", "control", "similar"}:         {0, 0, 0, 0, 1}, // 5, anonymous, left out
			{"exp", "treatment", ""}:              {2, 2, 1, 1, 0}, // 3 bought, 4 clicked; 8 too old
			{"exp", "treatment", "search"}:        {2, 2, 1, 1, 0},
		})
	})
	t.Run("anonymous included", func(t *testing.T) {
		q := base
		q.IncludeAnonymous = true
		got := onlineByKey(t, s, q)
		check(t, map[onlineKey]records.OnlineCount{
			{"exp", "control", ""}:        got[onlineKey{"exp", "control", ""}],
			{"exp", "control", "similar"}: got[onlineKey{"exp", "control", "similar"}],
		}, map[onlineKey]counts{
			{"exp", "control", ""}:        {4, 2, 3, 1, 1},
			{"exp", "control", "similar"}: {1, 0, 1, 0, 1},
		})
	})
	t.Run("wider click window", func(t *testing.T) {
		q := base
		q.ClickWindow = time.Hour // u2's click on p3 at +45 min now counts for 3
		got := onlineByKey(t, s, q)
		if g := got[onlineKey{"exp", "treatment", "search"}]; g.Clicked != 2 || g.Converted != 1 {
			t.Errorf("treatment search with a 1 h click window: %+v", g)
		}
	})
	t.Run("wider conversion window", func(t *testing.T) {
		q := base
		q.ConversionWindow = 26 * time.Hour // u3's purchase at +25 h counts for 4
		got := onlineByKey(t, s, q)
		if g := got[onlineKey{"exp", "treatment", ""}]; g.Converted != 2 {
			t.Errorf("treatment with a 26 h conversion window: %+v", g)
		}
	})
	t.Run("one surface", func(t *testing.T) {
		q := base
		q.Surface = records.SurfaceSearch
		check(t, onlineByKey(t, s, q), map[onlineKey]counts{
			{"exp", "control", ""}:         {2, 2, 1, 0, 0},
			{"exp", "control", "search"}:   {2, 2, 1, 0, 0},
			{"exp", "treatment", ""}:       {2, 2, 1, 1, 0},
			{"exp", "treatment", "search"}: {2, 2, 1, 1, 0},
		})
	})
	t.Run("every experiment", func(t *testing.T) {
		q := base
		q.Experiment = ""
		got := onlineByKey(t, s, q)
		// 7 showed p1 to u1 a minute before 1 did: 1 is the last touch.
		if g := got[onlineKey{"old", "a", "search"}]; g.Lists != 1 || g.Clicked != 0 {
			t.Errorf("old experiment: %+v", g)
		}
		if len(got) != 8 {
			t.Errorf("%d rows, want 8", len(got))
		}
	})
	t.Run("since", func(t *testing.T) {
		q := base
		q.Since = t0.Add(-100 * time.Hour) // now 8 is in
		if g := onlineByKey(t, s, q)[onlineKey{"exp", "treatment", ""}]; g.Lists != 3 || g.Users != 3 {
			t.Errorf("treatment since t0-100h: %+v", g)
		}
	})
}

func TestImpressionsLookupPruneAndErase(t *testing.T) {
	s, ctx := open(t)
	t0 := seedOnline(t, s)
	got, err := s.ImpressionUsers(ctx, []string{impID(1), impID(5), impID(99)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[impID(1)] != "u1" || got[impID(5)] != "" {
		t.Errorf("impression users %v", got)
	}
	// A user who was only shown lists exists, and can be erased.
	if err := s.DeleteUser(ctx, "u4"); err != nil {
		t.Fatalf("erase a user who only browsed: %v", err)
	}
	if err := s.DeleteUser(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := store.RawPool(s).QueryRow(ctx, `SELECT count(*) FROM impressions WHERE user_id IN ('u1', 'u4')`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d impressions of erased users remain (%v)", n, err)
	}
	// Retention: only 8 (three days older) goes.
	pruned, err := s.PruneImpressions(ctx, t0.Add(-24*time.Hour))
	if err != nil || pruned != 1 {
		t.Errorf("pruned %d (%v), want 1", pruned, err)
	}
	if err := store.RawPool(s).QueryRow(ctx, `SELECT count(*) FROM impressions`).Scan(&n); err != nil || n != 3 {
		t.Errorf("%d impressions left, want 3 (3, 4 and 5)", n)
	}
	// Events keep their impression id after the impression is gone.
	if err := store.RawPool(s).QueryRow(ctx, `SELECT count(*) FROM events WHERE impression_id IS NOT NULL`).Scan(&n); err != nil || n != 3 {
		t.Errorf("%d events with an impression id, want 3 (g, h, j)", n)
	}
}

// Forgetting a user leaves a tombstone: an impression another server
// served them before the erasure is never written after it, while lists
// served after it (the user came back) are.
func TestEraseTombstoneDropsLateImpressions(t *testing.T) {
	s, ctx := open(t)
	before := time.Now().Add(-time.Minute)
	imp := func(n int, user string, at time.Time) records.Impression {
		return records.Impression{ID: impID(n), UserID: user, Surface: records.SurfaceSearch, ProductIDs: []string{"p1"}, ServedAt: at}
	}
	count := func(q string, args ...any) int {
		t.Helper()
		var n int
		if err := store.RawPool(s).QueryRow(ctx, q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if err := s.InsertImpressions(ctx, []records.Impression{imp(1, "u1", before)}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	// Another server's buffer, written after the erasure: the list served
	// before it is dropped (and u1 not recreated); the anonymous one lands.
	if err := s.InsertImpressions(ctx, []records.Impression{imp(2, "u1", before), imp(3, "", before)}); err != nil {
		t.Fatal(err)
	}
	if n := count(`SELECT count(*) FROM impressions WHERE user_id = 'u1'`); n != 0 {
		t.Errorf("%d impressions of the erased user written after the erasure", n)
	}
	if n := count(`SELECT count(*) FROM users WHERE id = 'u1'`); n != 0 {
		t.Error("the erased user was recreated by a late impression")
	}
	if n := count(`SELECT count(*) FROM impressions WHERE id = $1::uuid`, impID(3)); n != 1 {
		t.Error("the anonymous impression of the same batch was lost")
	}
	// The user comes back: a list served after the erasure is theirs.
	if err := s.InsertImpressions(ctx, []records.Impression{imp(4, "u1", time.Now().Add(time.Second))}); err != nil {
		t.Fatal(err)
	}
	if n := count(`SELECT count(*) FROM impressions WHERE user_id = 'u1'`); n != 1 {
		t.Errorf("%d impressions of the returning user, want 1", n)
	}
	// A user only another server knew still gets a tombstone.
	if err := s.DeleteUser(ctx, "u2"); !errors.Is(err, records.ErrNotFound) {
		t.Errorf("erasing an unknown user: %v, want records.ErrNotFound", err)
	}
	if err := s.InsertImpressions(ctx, []records.Impression{imp(5, "u2", before)}); err != nil {
		t.Fatal(err)
	}
	if n := count(`SELECT count(*) FROM impressions WHERE id = $1::uuid`, impID(5)); n != 0 {
		t.Error("an impression of a user erased while unknown here was written")
	}
	// Tombstones go after a day.
	if n, err := s.PruneTombstones(ctx, time.Now()); err != nil || n != 0 {
		t.Errorf("pruned %d fresh tombstones (%v)", n, err)
	}
	if n, err := s.PruneTombstones(ctx, time.Now().Add(store.TombstoneTTL+time.Hour)); err != nil || n != 2 {
		t.Errorf("pruned %d tombstones a day later (%v), want 2", n, err)
	}
	if n := count(`SELECT count(*) FROM forgotten_users WHERE user_hash = sha256(convert_to('u1', 'UTF8'))`); n != 0 {
		t.Error("tombstone kept past its day")
	}
}
