package experiment

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

func mustParse(t *testing.T, name, variants, overrides string) *Experiment {
	t.Helper()
	e, err := Parse(name, variants, overrides)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestParse(t *testing.T) {
	e := mustParse(t, " blend-1 ", "control:50, treatment:30,big_t:20", "treatment.vector_weight=2, treatment.mmr_lambda=0.7,big_t.cf_weight=0")
	if e.Name != "blend-1" || len(e.Variants) != 3 || e.Control().Name != "control" {
		t.Fatalf("parsed %+v", e)
	}
	if v, ok := e.Variants[1].Override("vector_weight"); !ok || v != 2 {
		t.Errorf("treatment vector_weight %v %v", v, ok)
	}
	if v, ok := e.Variants[1].Override("mmr_lambda"); !ok || v != 0.7 {
		t.Errorf("treatment mmr_lambda %v %v", v, ok)
	}
	if v, ok := e.Variants[2].Override("cf_weight"); !ok || v != 0 {
		t.Errorf("big_t cf_weight %v %v", v, ok)
	}
	if _, ok := e.Variants[0].Override("vector_weight"); ok {
		t.Error("control got an override")
	}
	if e, err := Parse("", "", ""); e != nil || err != nil {
		t.Errorf("no experiment: %v %v", e, err)
	}

	bad := []struct {
		name, variants, overrides, want string
	}{
		{"x", "", "", "no variants"},
		{"x", "control", "", `"control" is not name:weight`},
		{"x", "control:abc", "", `weight "abc"`},
		{"x", "control:-1,t:1", "", `weight "-1"`},
		{"x", "control:0,t:0", "", "every variant has weight 0"},
		{"x", "control:1,control:1", "", "listed twice"},
		{"x", "con trol:1", "", "may hold only"},
		{"x", "control:1,t:1", "t.vector_weight", "not variant.parameter=value"},
		{"x", "control:1,t:1", "u.vector_weight=1", `variant "u"`},
		{"x", "control:1,t:1", "t.speed=1", `unknown parameter "speed"`},
		{"x", "control:1,t:1", "t.mmr_lambda=1.5", "mmr_lambda must be a number from 0 to 1"},
		{"x", "control:1,t:1", "t.cf_weight=-2", "cf_weight must be a number from 0"},
		{"", "control:1", "", "without an experiment name"},
	}
	for _, tc := range bad {
		t.Run(tc.variants+"|"+tc.overrides, func(t *testing.T) {
			_, err := Parse(tc.name, tc.variants, tc.overrides)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want ErrInvalid mentioning %q", err, tc.want)
			}
		})
	}
}

func TestAssignIsStable(t *testing.T) {
	e := mustParse(t, "exp", "control:50,treatment:50", "")
	again := mustParse(t, "exp", "control:50,treatment:50", "") // as after a restart
	for i := range 1000 {
		u := fmt.Sprintf("user-%d", i)
		a := e.Assign(u)
		for range 3 {
			if b := e.Assign(u); b.Name != a.Name {
				t.Fatalf("user %s got %s then %s", u, a.Name, b.Name)
			}
		}
		if b := again.Assign(u); b.Name != a.Name {
			t.Fatalf("user %s: %s before the restart, %s after", u, a.Name, b.Name)
		}
	}
}

// The bucket is SHA-256 of "name\x00user", first 8 bytes big-endian, top
// 53 bits over 2^53. The values were computed independently with Python's
// hashlib; the hash must never change between releases, or every running
// experiment would reshuffle its users.
func TestBucketPinned(t *testing.T) {
	for _, tc := range []struct {
		exp, user string
		want      float64
	}{
		{"exp", "alice", 0.2759690513946409},
		{"exp", "bob", 0.7011445920367368},
		{"other", "alice", 0.7486707717643567},
	} {
		if got := Bucket(tc.exp, tc.user); math.Abs(got-tc.want) > 1e-15 {
			t.Errorf("Bucket(%q, %q) = %.17g, want %.17g", tc.exp, tc.user, got, tc.want)
		}
	}
}

func TestAssignAnonymousAndNoExperiment(t *testing.T) {
	e := mustParse(t, "exp", "control:1,treatment:99", "")
	for range 10 {
		if v := e.Assign(""); v.Name != "control" {
			t.Fatalf("anonymous got %s", v.Name)
		}
	}
	var none *Experiment
	if v := none.Assign("u"); v.Name != "" || v.Overrides != nil {
		t.Errorf("no experiment gave %+v", v)
	}
	if none.Control().Name != "" {
		t.Error("nil experiment has a control")
	}
}

func TestWeightProportions(t *testing.T) {
	const n = 100_000
	tests := []struct {
		variants string
		want     map[string]float64
	}{
		{"control:50,treatment:50", map[string]float64{"control": 0.5, "treatment": 0.5}},
		{"control:90,treatment:10", map[string]float64{"control": 0.9, "treatment": 0.1}},
		{"a:1,b:1,c:2", map[string]float64{"a": 0.25, "b": 0.25, "c": 0.5}},
		{"a:1,off:0,b:3", map[string]float64{"a": 0.25, "off": 0, "b": 0.75}},
	}
	for _, tc := range tests {
		t.Run(tc.variants, func(t *testing.T) {
			e := mustParse(t, "proportions", tc.variants, "")
			got := map[string]int{}
			for i := range n {
				got[e.Assign(fmt.Sprintf("u%d", i)).Name]++
			}
			for name, p := range tc.want {
				// Five standard deviations of a binomial share: a fair
				// hash fails this about once in two million runs.
				tol := 5 * math.Sqrt(p*(1-p)/n)
				if share := float64(got[name]) / n; math.Abs(share-p) > tol {
					t.Errorf("%s: share %.4f, want %.4f ± %.4f", name, share, p, tol)
				}
			}
			if tc.want["off"] == 0 && got["off"] != 0 {
				t.Errorf("a zero-weight variant got %d users", got["off"])
			}
		})
	}
}

// Two experiments with different names split users independently: being
// in A's treatment says nothing about B's.
func TestIndependentAcrossExperiments(t *testing.T) {
	const n = 100_000
	a := mustParse(t, "exp-a", "control:50,treatment:50", "")
	b := mustParse(t, "exp-b", "control:50,treatment:50", "")
	var both, inA, inB int
	for i := range n {
		u := fmt.Sprintf("u%d", i)
		ta, tb := a.Assign(u).Name == "treatment", b.Assign(u).Name == "treatment"
		if ta {
			inA++
		}
		if tb {
			inB++
		}
		if ta && tb {
			both++
		}
	}
	// Under independence both ≈ n/4 with sd ≈ sqrt(n·¼·¾) ≈ 137.
	want := float64(inA) * float64(inB) / n
	if math.Abs(float64(both)-want) > 5*math.Sqrt(n*0.25*0.75) {
		t.Errorf("%d users in both treatments, want about %.0f: assignments are correlated", both, want)
	}
	// And the same name gives the same split.
	a2 := mustParse(t, "exp-a", "control:50,treatment:50", "")
	for i := range 1000 {
		u := fmt.Sprintf("u%d", i)
		if a.Assign(u).Name != a2.Assign(u).Name {
			t.Fatal("same experiment name, different assignment")
		}
	}
}

// Ramping the last variant up only moves users into it.
func TestRampUpKeepsTreatedUsers(t *testing.T) {
	small := mustParse(t, "ramp", "control:90,treatment:10", "")
	large := mustParse(t, "ramp", "control:50,treatment:50", "")
	moved := 0
	for i := range 20_000 {
		u := fmt.Sprintf("u%d", i)
		s, l := small.Assign(u).Name, large.Assign(u).Name
		if s == "treatment" && l != "treatment" {
			t.Fatalf("user %s left the treatment when it grew", u)
		}
		if s != l {
			moved++
		}
	}
	if moved == 0 {
		t.Error("ramp-up moved nobody")
	}
}

func TestPick(t *testing.T) {
	tests := []struct {
		weights []float64
		u       float64
		want    int
	}{
		{[]float64{1, 1}, 0, 0},
		{[]float64{1, 1}, 0.4999, 0},
		{[]float64{1, 1}, 0.5, 1},
		{[]float64{1, 1}, 0.999999, 1},
		{[]float64{0, 1}, 0, 1},
		{[]float64{1, 0}, 0.99999, 0},
		{[]float64{1, 2, 1}, 0.26, 1},
		{[]float64{1, 2, 1}, 0.76, 2},
	}
	for _, tc := range tests {
		if got := Pick(tc.weights, tc.u); got != tc.want {
			t.Errorf("Pick(%v, %v) = %d, want %d", tc.weights, tc.u, got, tc.want)
		}
	}
}

func TestDescribe(t *testing.T) {
	e, err := Parse("x", "control:3,treatment:1", "treatment.vector_weight=2,treatment.mmr_lambda=0.7")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := e.Describe(), "control 75% (no overrides), treatment 25% (mmr_lambda=0.7, vector_weight=2)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
