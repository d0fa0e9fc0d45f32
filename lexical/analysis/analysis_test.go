package analysis

import (
	"errors"
	"slices"
	"testing"
)

func TestTerms(t *testing.T) {
	cases := []struct {
		name  string
		langs []string
		text  string
		want  []string
	}{
		{"english plural", []string{English}, "Organic Bananas", []string{"organ", "banana"}},
		{"english forms meet", []string{English}, "potatoes potato", []string{"potato", "potato"}},
		{"swedish definite", []string{Swedish}, "Mjölken mjölk", []string{"mjölk", "mjölk"}},
		{"mixed takes shortest stem", []string{English, Swedish}, "bananas banan", []string{"banan", "banan"}},
		{"punctuation and digits", []string{English}, "Tomatoes, 500g (Spain)", []string{"tomato", "500g", "spain"}},
		{"empty", []string{English}, " -- ", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := New(c.langs...)
			if err != nil {
				t.Fatal(err)
			}
			if got := a.Terms(c.text); !slices.Equal(got, c.want) {
				t.Errorf("Terms(%q) = %q, want %q", c.text, got, c.want)
			}
		})
	}
}

func TestNewUnknownLanguage(t *testing.T) {
	if _, err := New("xx"); !errors.Is(err, ErrUnknownLanguage) {
		t.Fatalf("New(xx) = %v, want ErrUnknownLanguage", err)
	}
	a, err := New()
	if err != nil || !slices.Equal(a.Languages(), []string{English}) {
		t.Fatalf("New() = %v, %v; want English", a.Languages(), err)
	}
}
