package synth_test

import (
	"bufio"
	"bytes"
	"fmt"
	"slices"
	"testing"

	"github.com/vitrinehq/vitrine/internal/synth"
)

// event is one parsed line of an interaction file.
type event struct {
	user, item int
	t          int64
}

func readEvents(t *testing.T, b []byte) []event {
	t.Helper()
	var out []event
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		var e event
		var r int
		if _, err := fmt.Sscanf(sc.Text(), "%d\t%d\t%d\t%d", &e.user, &e.item, &r, &e.t); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if r < 1 || r > 5 {
			t.Fatalf("line %q: rating %d", sc.Text(), r)
		}
		out = append(out, e)
	}
	return out
}

// seqStats measures what the sequential mode plants: the share of events
// repeating the user's earlier item, the mean session length (events at
// most an hour apart), and how concentrated in-session successors are (the
// share of an item's in-session next events going to its three most
// frequent successors, over items followed at least 10 times).
type seqStats struct {
	repeats, session, top3 float64
}

func measure(t *testing.T, evs []event) seqStats {
	t.Helper()
	var repeats, sessions, inSession int
	next := map[int]map[int]int{}
	seen := map[int]bool{}
	for k, e := range evs {
		if k == 0 || evs[k-1].user != e.user {
			clear(seen)
			sessions++
		} else {
			prev := evs[k-1]
			if e.t < prev.t {
				t.Fatalf("user %d: time goes back at event %d", e.user, k)
			}
			if e.t-prev.t > 3600 {
				sessions++
			} else {
				inSession++
				if next[prev.item] == nil {
					next[prev.item] = map[int]int{}
				}
				next[prev.item][e.item]++
			}
		}
		if seen[e.item] {
			repeats++
		}
		seen[e.item] = true
	}
	var top, all int
	for _, m := range next {
		counts := slices.Collect(func(yield func(int) bool) {
			for _, c := range m {
				if !yield(c) {
					return
				}
			}
		})
		slices.Sort(counts)
		sum := 0
		for _, c := range counts {
			sum += c
		}
		if sum < 10 {
			continue
		}
		for _, c := range counts[max(0, len(counts)-3):] {
			top += c
		}
		all += sum
	}
	return seqStats{repeats: float64(repeats) / float64(len(evs)), session: float64(len(evs)) / float64(sessions),
		top3: float64(top) / float64(max(all, 1))}
}

func TestSequentialMode(t *testing.T) {
	o := synth.InteractionOptions{Users: 3000, Items: 2000, PerUser: 15, Seed: 4, Mode: synth.Sequential}
	var a, b bytes.Buffer
	n, err := synth.WriteInteractions(&a, o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := synth.WriteInteractions(&b, o); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("the same seed wrote different files")
	}
	evs := readEvents(t, a.Bytes())
	if len(evs) != n || n < 35_000 || n > 55_000 {
		t.Fatalf("%d events (reported %d), want about 45,000", len(evs), n)
	}
	seq := measure(t, evs)
	o.Mode = synth.Planted
	var p bytes.Buffer
	if _, err := synth.WriteInteractions(&p, o); err != nil {
		t.Fatal(err)
	}
	planted := measure(t, readEvents(t, p.Bytes()))
	t.Logf("sequential %+v, planted %+v", seq, planted)
	if seq.repeats < 0.1 || seq.repeats > 0.3 {
		t.Errorf("sequential repeats %.3f of events, want 0.1 to 0.3", seq.repeats)
	}
	if planted.repeats != 0 {
		t.Errorf("planted repeats %.3f of events, want none", planted.repeats)
	}
	// Sessions average 5 events, less where a user's events run out.
	if seq.session < 3 || seq.session > 6.5 {
		t.Errorf("sequential sessions of %.2f events, want 3 to 6.5", seq.session)
	}
	if seq.top3 < 0.45 || seq.top3 < planted.top3+0.15 {
		t.Errorf("three most frequent successors take %.3f of next events (planted %.3f), want at least 0.45 and 0.15 above planted", seq.top3, planted.top3)
	}
}

// Popularity drifts: a cluster's most frequent items over the file's first
// 60 days are not those of days 180 to 240 (six drift steps later).
func TestSequentialDrift(t *testing.T) {
	var b bytes.Buffer
	o := synth.InteractionOptions{Users: 4000, Items: 1000, Clusters: 5, PerUser: 10, Seed: 2, Mode: synth.Sequential}
	if _, err := synth.WriteInteractions(&b, o); err != nil {
		t.Fatal(err)
	}
	evs := readEvents(t, b.Bytes())
	lo := evs[0].t
	for _, e := range evs {
		lo = min(lo, e.t)
	}
	top := func(from, to int64) []int {
		c := map[int]int{}
		for _, e := range evs {
			if e.t >= from && e.t < to && e.item <= 200 { // cluster 0
				c[e.item]++
			}
		}
		items := make([]int, 0, len(c))
		for i := range c {
			items = append(items, i)
		}
		slices.SortFunc(items, func(x, y int) int { return c[y] - c[x] })
		return items[:min(5, len(items))]
	}
	first, last := top(lo, lo+60*86_400), top(lo+180*86_400, lo+240*86_400)
	if len(first) < 5 || len(last) < 5 {
		t.Fatalf("too few events: top %v and %v", first, last)
	}
	for _, i := range first {
		if slices.Contains(last, i) {
			t.Errorf("item %d is among cluster 0's top 5 both in days 0-60 (%v) and 180-240 (%v)", i, first, last)
		}
	}
}

func TestWriteInteractionsRejectsUnknownMode(t *testing.T) {
	if _, err := synth.WriteInteractions(&bytes.Buffer{}, synth.InteractionOptions{Mode: "shuffled"}); err == nil {
		t.Error("mode shuffled: want an error")
	}
}
