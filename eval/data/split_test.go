package data

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSplitCountsMatchRecBole(t *testing.T) {
	// RecBole's _calcu_split_ids with ratios 0.8/0.1/0.1, by hand:
	//   3: floors [_, 0, 0] -> train 3; 0.3 < 1 moves one to test, then one
	//      to valid -> 1/1/1.
	//   4: floors 0, 0 -> 4; 0.4 < 1 twice -> 2/1/1.
	//   5: 0.5 < 1 twice -> 3/1/1.
	//  10: floors 1, 1 -> 8/1/1 (1.0 is not below one).
	//  11: floors 1, 1 -> 9/1/1.
	//  15: floors 1, 1 (1.5) -> 13/1/1.
	//  20: floors 2, 2 -> 16/2/2.
	for n, want := range map[int][3]int{3: {1, 1, 1}, 4: {2, 1, 1}, 5: {3, 1, 1}, 10: {8, 1, 1}, 11: {9, 1, 1}, 15: {13, 1, 1}, 20: {16, 2, 2}} {
		if got := splitCounts(n, DefaultRatios); got != want {
			t.Errorf("%d interactions: %v, want %v", n, got, want)
		}
	}
	// Train keeps at least one: 2 items at 0.1/0.45/0.45 -> floors 0, 0,
	// train 2; 0.9 < 1 moves one to test, then train is 1 and stops.
	if got := splitCounts(2, [3]float64{0.1, 0.45, 0.45}); got != [3]int{1, 0, 1} {
		t.Errorf("2 interactions: %v", got)
	}
}

// dataset: user a 10 interactions, b 3, c 2, d 1; times increase with
// the item number.
func dataset() Dataset {
	var d Dataset
	d.HasTime = true
	for u, n := range map[string]int{"a": 10, "b": 3, "c": 2, "d": 1} {
		for i := range n {
			d.Interactions = append(d.Interactions, Interaction{User: u, Item: fmt.Sprintf("%s%02d", u, i), Time: int64(100*i + len(u))})
		}
	}
	slices.SortFunc(d.Interactions, cmpItem)
	return d
}

func cmpItem(x, y Interaction) int {
	return cmp.Or(cmp.Compare(x.User, y.User), cmp.Compare(x.Item, y.Item))
}

func perUser(xs []Interaction) map[string]int {
	m := map[string]int{}
	for _, x := range xs {
		m[x.User]++
	}
	return m
}

func sorted(xs []Interaction) []Interaction {
	s := slices.Clone(xs)
	slices.SortFunc(s, cmpItem)
	return s
}

func TestRandomSplit(t *testing.T) {
	d := dataset()
	s, err := RandomSplit(d.Interactions, DefaultRatios, 42)
	if err != nil {
		t.Fatal(err)
	}
	// a: 10 -> 8/1/1; b: 3 -> 1/1/1; c (2) and d (1) stay in train.
	for name, tc := range map[string]struct {
		got  map[string]int
		want map[string]int
	}{
		"train": {perUser(s.Train), map[string]int{"a": 8, "b": 1, "c": 2, "d": 1}},
		"valid": {perUser(s.Valid), map[string]int{"a": 1, "b": 1}},
		"test":  {perUser(s.Test), map[string]int{"a": 1, "b": 1}},
	} {
		if fmt.Sprint(tc.got) != fmt.Sprint(tc.want) {
			t.Errorf("%s per user %v, want %v", name, tc.got, tc.want)
		}
	}
	all := slices.Concat(s.Train, s.Valid, s.Test)
	if !slices.Equal(sorted(all), sorted(d.Interactions)) {
		t.Error("the parts are not a partition of the input")
	}
	// The same seed gives the same split whatever the file order.
	shuffled := slices.Clone(d.Interactions)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	again, _ := RandomSplit(shuffled, DefaultRatios, 42)
	if !slices.Equal(again.Test, s.Test) || !slices.Equal(again.Valid, s.Valid) || !slices.Equal(again.Train, s.Train) {
		t.Error("same seed, reordered input: a different split")
	}
	// Another seed shuffles differently (checked over a few seeds: one
	// coincidence is possible, all of them are not).
	differs := false
	for seed := uint64(1); seed <= 5 && !differs; seed++ {
		o, _ := RandomSplit(d.Interactions, DefaultRatios, seed)
		differs = !slices.Equal(o.Test, s.Test)
	}
	if !differs {
		t.Error("seeds 1-5 all gave seed 42's test set")
	}
	if _, err := RandomSplit(d.Interactions, [3]float64{1, -1, 0}, 1); !errors.Is(err, ErrSplit) {
		t.Errorf("negative ratio: %v", err)
	}
	if _, err := RandomSplit(d.Interactions, [3]float64{}, 1); !errors.Is(err, ErrSplit) {
		t.Errorf("zero ratios: %v", err)
	}
}

func TestLeaveOneOut(t *testing.T) {
	d := Dataset{HasTime: true, Interactions: []Interaction{
		{User: "u", Item: "late", Time: 30}, {User: "u", Item: "early", Time: 10}, {User: "u", Item: "mid", Time: 20}, {User: "u", Item: "first", Time: 5},
		{User: "two", Item: "x", Time: 2}, {User: "two", Item: "y", Time: 1},
		{User: "one", Item: "z", Time: 1},
	}}
	s := LeaveOneOutSplit(d)
	items := func(xs []Interaction) []string {
		var out []string
		for _, x := range xs {
			out = append(out, x.User+":"+x.Item)
		}
		return out
	}
	// Users in sorted order: one, two, u. By time u has first, early, mid,
	// late: late to test, mid to valid. two has y (1), x (2): x to test, no
	// valid. one keeps its only item in train.
	tests := []struct {
		name      string
		got, want []string
	}{
		{"train", items(s.Train), []string{"one:z", "two:y", "u:first", "u:early"}},
		{"valid", items(s.Valid), []string{"u:mid"}},
		{"test", items(s.Test), []string{"two:x", "u:late"}},
	}
	for _, tc := range tests {
		if !slices.Equal(tc.got, tc.want) {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	// Without timestamps the file's order stands in for time.
	d.HasTime = false
	s = LeaveOneOutSplit(d)
	if got := items(s.Test); !slices.Equal(got, []string{"two:y", "u:first"}) {
		t.Errorf("test by file order = %v", got)
	}
}

func TestTemporalSplit(t *testing.T) {
	mk := func(times ...int64) Dataset {
		d := Dataset{HasTime: true}
		for i, tm := range times {
			d.Interactions = append(d.Interactions, Interaction{User: fmt.Sprint("u", i%3), Item: fmt.Sprint("i", i), Time: tm})
		}
		return d
	}
	tests := []struct {
		name                   string
		d                      Dataset
		train, valid, test     int
		trainUntil, validUntil int64
	}{
		// 10 interactions at 1..10 (given out of order): counts 8/1/1, so
		// train <= 8 and valid (8, 9].
		{"distinct times", mk(10, 1, 2, 3, 4, 5, 6, 7, 8, 9), 8, 1, 1, 8, 9},
		// Times 1..7, 8, 8, 9: the 8th interaction is at 8, so both 8s go
		// to train (9); the 9th is also at 8, so valid (8, 8] is empty and 9
		// is test.
		{"ties stay before the cutoff", mk(1, 2, 3, 4, 5, 6, 7, 8, 8, 9), 9, 0, 1, 8, 8},
		// All at one time: everything is train, nothing is later.
		{"one time", mk(5, 5, 5), 3, 0, 0, 5, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := TemporalSplit(tc.d, DefaultRatios)
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Train) != tc.train || len(s.Valid) != tc.valid || len(s.Test) != tc.test {
				t.Errorf("sizes %d/%d/%d, want %d/%d/%d", len(s.Train), len(s.Valid), len(s.Test), tc.train, tc.valid, tc.test)
			}
			if s.TrainUntil != tc.trainUntil || s.ValidUntil != tc.validUntil {
				t.Errorf("cutoffs %d, %d; want %d, %d", s.TrainUntil, s.ValidUntil, tc.trainUntil, tc.validUntil)
			}
			for _, x := range s.Test {
				if x.Time <= s.ValidUntil {
					t.Errorf("test interaction %+v is not after the valid cutoff", x)
				}
			}
		})
	}
	if _, err := TemporalSplit(Dataset{Interactions: []Interaction{{User: "u", Item: "i"}}}, DefaultRatios); !errors.Is(err, ErrNoTime) || !errors.Is(err, ErrSplit) {
		t.Errorf("no timestamps: %v", err)
	}
}

func TestSplitByMethod(t *testing.T) {
	d := dataset()
	for _, name := range []string{"random", "leave-one-out", "Temporal"} {
		m, err := ParseMethod(name)
		if err != nil {
			t.Fatal(err)
		}
		s, err := SplitBy(d, m, 7)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if n := len(s.Train) + len(s.Valid) + len(s.Test); n != len(d.Interactions) {
			t.Errorf("%s: %d interactions out of %d", name, n, len(d.Interactions))
		}
	}
	if _, err := ParseMethod("k-fold"); !errors.Is(err, ErrSplit) {
		t.Errorf("unknown method: %v", err)
	}
	if _, err := SplitBy(d, "k-fold", 1); !errors.Is(err, ErrSplit) {
		t.Errorf("SplitBy unknown method: %v", err)
	}
}

// Leave-one-out on files as read: by timestamp when the file has them
// (lines out of time order), by each user's last lines when it has none
// (the common public "user item" layout, in time order).
func TestLeaveOneOutFromFiles(t *testing.T) {
	tests := []struct {
		file               string
		hasTime            bool
		train, valid, test []string
	}{
		{"testdata/loo-pairs.txt", false, []string{"u1:a", "u1:b", "u2:x"}, []string{"u1:c", "u2:y"}, []string{"u1:d", "u2:z"}},
		// u1 by time: b (100), d (200), c (300), a (400); u2: x, z, y.
		{"testdata/loo-times.txt", true, []string{"u1:b", "u1:d", "u2:x"}, []string{"u1:c", "u2:z"}, []string{"u1:a", "u2:y"}},
	}
	ids := func(xs []Interaction) []string {
		var out []string
		for _, x := range xs {
			out = append(out, x.User+":"+x.Item)
		}
		return out
	}
	for _, tc := range tests {
		d, err := ReadFile(tc.file, Auto)
		if err != nil {
			t.Fatal(err)
		}
		if d.HasTime != tc.hasTime {
			t.Fatalf("%s: HasTime %v, want %v", tc.file, d.HasTime, tc.hasTime)
		}
		s, err := SplitBy(d, LeaveOneOut, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, part := range []struct {
			name      string
			got, want []string
		}{{"train", ids(s.Train), tc.train}, {"valid", ids(s.Valid), tc.valid}, {"test", ids(s.Test), tc.test}} {
			if !slices.Equal(part.got, part.want) {
				t.Errorf("%s %s = %v, want %v", tc.file, part.name, part.got, part.want)
			}
		}
	}
}
