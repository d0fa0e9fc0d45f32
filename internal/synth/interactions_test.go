package synth_test

import (
	"bufio"
	"bytes"
	"fmt"
	"testing"

	"github.com/vitrinehq/vitrine/internal/synth"
)

func TestWriteInteractionsShape(t *testing.T) {
	var a, b bytes.Buffer
	n, err := synth.WriteInteractions(&a, synth.InteractionOptions{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := synth.WriteInteractions(&b, synth.InteractionOptions{Seed: 3}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("the same seed wrote different files")
	}
	// MovieLens-100K's shape: 943 users, 1,682 items, about 100,000 lines.
	if n < 85_000 || n > 115_000 {
		t.Errorf("%d interactions, want about 100,000", n)
	}
	perUser := map[int]int{}
	seen := map[[2]int]bool{}
	inCluster, ratings := map[int]int{}, [6]int{}
	sc := bufio.NewScanner(&a)
	lines := 0
	for sc.Scan() {
		var u, i, r int
		var ts int64
		if _, err := fmt.Sscanf(sc.Text(), "%d\t%d\t%d\t%d", &u, &i, &r, &ts); err != nil {
			t.Fatalf("line %d %q: %v", lines+1, sc.Text(), err)
		}
		lines++
		if u < 1 || u > 943 || i < 1 || i > 1682 || r < 1 || r > 5 || ts < 880_000_000 {
			t.Fatalf("line %d out of range: %q", lines, sc.Text())
		}
		if seen[[2]int{u, i}] {
			t.Fatalf("line %d repeats user %d item %d", lines, u, i)
		}
		seen[[2]int{u, i}] = true
		perUser[u]++
		ratings[r]++
		if (i-1)/(1682/19) == (u-1)%19 || (i-1)/(1682/19) >= 19 && (u-1)%19 == 18 {
			inCluster[u]++
		}
	}
	if lines != n || len(perUser) != 943 {
		t.Fatalf("%d lines (reported %d), %d users", lines, n, len(perUser))
	}
	for u, c := range perUser {
		if c < 20 {
			t.Errorf("user %d has %d interactions, want at least 20", u, c)
		}
	}
	// 25% of the draws come from other clusters, but repeated draws of a
	// cluster's popular items are dropped, so fewer than 75% of a user's
	// items stay home; still far above chance (1/19). Heavy users exhaust
	// their cluster's 88 items and spill over: look at users with at most 60.
	var home, total int
	for u, c := range perUser {
		if c <= 60 {
			home += inCluster[u]
			total += c
		}
	}
	if share := float64(home) / float64(total); total < 10_000 || share < 0.55 || share > 0.8 {
		t.Errorf("in-cluster share %.3f over %d interactions of light users, want 0.55 to 0.8", share, total)
	}
	for r := 1; r <= 5; r++ {
		if ratings[r] < n/50 {
			t.Errorf("rating %d appears %d times of %d: the scale is not used", r, ratings[r], n)
		}
	}
}

func TestWriteInteractionsRejectsMoreClustersThanItems(t *testing.T) {
	if _, err := synth.WriteInteractions(&bytes.Buffer{}, synth.InteractionOptions{Items: 5, Clusters: 6}); err == nil {
		t.Error("6 clusters over 5 items: want an error")
	}
}

// Sized files: about the asked total, every user with at least three
// interactions (so leave-one-out has train, valid and test), three columns
// without timestamps, four with.
func TestWriteInteractionsSized(t *testing.T) {
	tests := []struct {
		name    string
		o       synth.InteractionOptions
		columns int
	}{
		{"with timestamps", synth.InteractionOptions{Users: 2000, Items: 3000, Interactions: 18_000, Seed: 1}, 4},
		{"without timestamps", synth.InteractionOptions{Users: 2000, Items: 3000, Interactions: 18_000, Seed: 1, NoTimestamps: true}, 3},
		{"sparse", synth.InteractionOptions{Users: 5000, Items: 20_000, Interactions: 50_000, Seed: 2}, 4},
	}
	for _, tc := range tests {
		var b bytes.Buffer
		n, err := synth.WriteInteractions(&b, tc.o)
		if err != nil {
			t.Fatal(err)
		}
		if want := tc.o.Interactions; n < want*97/100 || n > want*103/100 {
			t.Errorf("%s: %d interactions, want %d ± 3%%", tc.name, n, want)
		}
		perUser := map[string]int{}
		sc := bufio.NewScanner(&b)
		for sc.Scan() {
			f := bytes.Fields(sc.Bytes())
			if len(f) != tc.columns {
				t.Fatalf("%s: line %q has %d columns, want %d", tc.name, sc.Text(), len(f), tc.columns)
			}
			perUser[string(f[0])]++
		}
		if len(perUser) != tc.o.Users {
			t.Errorf("%s: %d users, want %d", tc.name, len(perUser), tc.o.Users)
		}
		for u, c := range perUser {
			if c < 3 {
				t.Fatalf("%s: user %s has %d interactions, want at least 3", tc.name, u, c)
			}
		}
	}
}
