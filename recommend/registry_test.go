package recommend_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/vitrinehq/vitrine/recommend"
)

func TestRegistry(t *testing.T) {
	d, err := recommend.NewDataset(powerLaw(40, 30, 400, 1))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range recommend.Methods() {
		s, err := recommend.New(name, recommend.Params{Factors: 4, Iterations: 2})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := s.Fit(t.Context(), d); err != nil {
			t.Fatalf("%s: fit: %v", name, err)
		}
		if got := s.Recommend(d.UserID(0), 3, nil); len(got) == 0 {
			t.Errorf("%s recommends nothing", name)
		}
	}
	_, err = recommend.New("svd++", recommend.Params{})
	if !errors.Is(err, recommend.ErrUnknownMethod) || !strings.Contains(err.Error(), strings.Join(recommend.Methods(), ", ")) {
		t.Errorf("unknown method: %v, want ErrUnknownMethod listing %v", err, recommend.Methods())
	}
}

func TestResolve(t *testing.T) {
	tests := []struct {
		name string
		in   recommend.Params
		want recommend.Params
	}{
		{"als defaults", recommend.Params{}, recommend.Params{Factors: 64, Iterations: 15, Reg: 0.1, Alpha: 1, Seed: 1}},
		{"als override", recommend.Params{Factors: 8, Alpha: 3, Seed: 7}, recommend.Params{Factors: 8, Iterations: 15, Reg: 0.1, Alpha: 3, Seed: 7}},
		{"bpr defaults", recommend.Params{}, recommend.Params{Factors: 64, Iterations: 15, Reg: 0.05, Seed: 1}},
		{"itemknn defaults", recommend.Params{}, recommend.Params{Neighbours: 100, Shrink: 10, Seed: 1}},
	}
	for _, tc := range tests {
		method := strings.Fields(tc.name)[0]
		got, err := recommend.Resolve(method, tc.in)
		if err != nil || got != tc.want {
			t.Errorf("%s: %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
		if tc.in == (recommend.Params{}) {
			if d, _ := recommend.Defaults(method); d != tc.want {
				t.Errorf("%s: Defaults %+v, want %+v", tc.name, d, tc.want)
			}
		}
	}
}
