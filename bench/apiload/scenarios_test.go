package apiload

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/fusion"
)

// letters is an in-memory text model: a query's vector counts its bytes
// and its vowels; an empty query fails.
type letters struct{}

func (letters) Key() string { return "letters@1" }

func (letters) Encode(_ context.Context, in []byte) ([]float32, error) {
	if len(in) == 0 {
		return nil, errors.New("empty query")
	}
	v := []float32{float32(len(in)), 0}
	for _, c := range in {
		switch c {
		case 'a', 'e', 'i', 'o', 'u':
			v[1]++
		}
	}
	return v, nil
}

func TestNewSearch(t *testing.T) {
	spec := fusion.Spec{Strategy: fusion.WeightedConcat, Components: []fusion.Component{{Model: "letters@1", Modality: "text", Dim: 2, Weight: 1}}}
	s, err := NewSearch(t.Context(), letters{}, spec, 7)
	if err != nil {
		t.Fatal(err)
	}
	if s.Model != "letters@1" || s.SpaceVersion != 7 || len(s.Queries) == 0 || len(s.Text) != len(s.Queries) || len(s.Fused) != len(s.Queries) {
		t.Fatalf("search %+v: want one text and one fused vector per query", s)
	}
	for i, q := range s.Queries {
		want, _ := letters{}.Encode(t.Context(), []byte(q))
		fused, err := spec.Query(map[string][]float32{"letters@1": want})
		if err != nil {
			t.Fatal(err)
		}
		if s.Text[i][0] != want[0] || s.Text[i][1] != want[1] || len(s.Fused[i]) != spec.Dim() || s.Fused[i][0] != fused[0] {
			t.Errorf("query %q: text %v fused %v, want %v and %v", q, s.Text[i], s.Fused[i], want, fused)
		}
	}
	other := fusion.Spec{Strategy: fusion.WeightedConcat, Components: []fusion.Component{{Model: "other@1", Modality: "text", Dim: 2, Weight: 1}}}
	if _, err := NewSearch(t.Context(), letters{}, other, 7); err == nil {
		t.Error("a space without the text model: no error")
	}
}

func TestRunnerOnly(t *testing.T) {
	ran := map[string]bool{}
	sc := func(name string) Scenario {
		return Scenario{Name: name, Run: func(context.Context, int) error { ran[name] = true; return nil }}
	}
	r := Runner{Clients: 1, Duration: 10 * time.Millisecond, Only: []string{"search"}}
	res := r.Run(t.Context(), sc("rank (API)"), sc("search (API)"), sc("search (bare DB)"))
	if len(res) != 2 || ran["rank (API)"] || !ran["search (API)"] || !ran["search (bare DB)"] {
		t.Errorf("ran %v (%d results), want the two search scenarios only", ran, len(res))
	}
	if !r.Wants("search") || r.Wants("recommend") || !(Runner{}).Wants("recommend") {
		t.Error("Wants disagrees with Only")
	}
	if err := CheckEndpoints([]string{"search", "recommend", "similar", AfterEvent}); err != nil {
		t.Error(err)
	}
	if err := CheckEndpoints([]string{"serch"}); !errors.Is(err, ErrBadEndpoint) {
		t.Errorf("serch: %v, want ErrBadEndpoint", err)
	}
}

// A scenario with Before times only its requests: Before's wait is not in
// the latencies, every completed request is, and a failing Before counts
// as an error.
func TestRunnerTimesRequestOnly(t *testing.T) {
	const wait = 30 * time.Millisecond
	var calls, befores sync.Map
	before := func(_ context.Context, i int) error {
		befores.Store(i, true)
		time.Sleep(wait)
		if i%4 == 3 {
			return errors.New("event refused")
		}
		return nil
	}
	var setups int
	setup := func(context.Context) error { setups++; return nil }
	s := Scenario{Name: AfterEvent + " (API)", Setup: setup, Before: before, Run: func(_ context.Context, i int) error {
		if _, ok := befores.Load(i); !ok {
			t.Errorf("call %d ran before its Before", i)
		}
		calls.Store(i, true)
		return nil
	}}
	res := Runner{Clients: 2, Duration: 400 * time.Millisecond}.Run(t.Context(), s)
	if len(res) != 1 {
		t.Fatalf("%d results, want 1", len(res))
	}
	r := res[0]
	n := 0
	calls.Range(func(any, any) bool { n++; return true })
	if r.Requests == 0 || len(r.Latencies) != r.Requests || r.Requests > n {
		t.Errorf("%d requests, %d latencies, %d calls: want every completed request timed once", r.Requests, len(r.Latencies), n)
	}
	if r.P99 >= wait {
		t.Errorf("p99 %s: Before's %s wait was timed", r.P99, wait)
	}
	if r.Errors == 0 {
		t.Error("a failing Before counted no error")
	}
	if setups != 1 {
		t.Errorf("setup ran %d times, want once", setups)
	}
	failing := Scenario{Name: "x (API)", Setup: func(context.Context) error { return errors.New("no shoppers") }, Run: s.Run}
	if res := (Runner{Clients: 1, Duration: time.Millisecond}).Run(t.Context(), failing); len(res) != 1 || res[0].Errors != 1 || res[0].FirstErr != "no shoppers" {
		t.Errorf("failing setup: %+v, want one result with its error", res)
	}
	if !(Runner{Only: []string{AfterEvent}}).WantsAny(RecommendEndpoints()...) || (Runner{Only: []string{"search"}}).WantsAny(RecommendEndpoints()...) {
		t.Error("WantsAny disagrees with Only")
	}
}
