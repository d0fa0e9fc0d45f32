package validate

import (
	"errors"
	"math"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestText(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		max  int
		want error
	}{
		{"plain", "red shoes", 100, nil},
		{"unicode", "chaussures rouges é", 100, nil},
		{"nul", "evil\x00", 100, ErrNUL},
		{"invalid utf8", "bad\xff", 100, ErrInvalidUTF8},
		{"too long", strings.Repeat("a", 11), 10, ErrTooLong},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := TextMax(tc.in, tc.max)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("TextMax(%q) = %v, want %v", tc.in, err, tc.want)
			}
		})
	}
}

func TestNumber(t *testing.T) {
	for _, tc := range []struct {
		x    float64
		want error
	}{
		{3, nil}, {1, nil}, {5, nil},
		{1e308, ErrOutOfRange}, {-5, ErrOutOfRange},
		{math.NaN(), ErrNotFinite}, {math.Inf(1), ErrNotFinite}, {math.Inf(-1), ErrNotFinite},
	} {
		err := Number(tc.x, 1, 5)
		if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("Number(%g) = %v, want %v", tc.x, err, tc.want)
		}
	}
}

func TestTimestamp(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		at   time.Time
		ok   bool
	}{
		{"now", now, true},
		{"epoch", MinTime(), true},
		{"1900", time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{"year 1", time.Time{}.Add(time.Hour), false},
		{"skew allowed", now.Add(MaxClockSkew - time.Second), true},
		{"future", now.Add(time.Hour), false},
		{"far future", time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Timestamp(tc.at, now)
			if tc.ok != (err == nil) || err != nil && !errors.Is(err, ErrOutOfRange) {
				t.Fatalf("Timestamp(%s) = %v, want ok=%v", tc.at, err, tc.ok)
			}
		})
	}
}

func nest(depth int) any {
	var v any = "x"
	for range depth {
		v = map[string]any{"k": v}
	}
	return v
}

func TestAttributes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		attrs    map[string]any
		want     error
		wantPath string
	}{
		{"flat", map[string]any{"color": "red", "size": 42.0, "eco": true, "tags": []any{"a", "b"}}, nil, ""},
		{"max depth", map[string]any{"a": nest(MaxAttributeDepth - 1)}, nil, ""},
		{"too deep", map[string]any{"a": nest(MaxAttributeDepth + 3)}, ErrTooLong, "a.k.k.k"},
		{"nul value", map[string]any{"color": "re\x00d"}, ErrNUL, "color"},
		{"nul in list", map[string]any{"tags": []any{"ok", "b\x00"}}, ErrNUL, "tags[1]"},
		{"bad key", map[string]any{"co\xfflor": "red"}, ErrInvalidUTF8, "co\xfflor"},
		{"nan", map[string]any{"w": math.NaN()}, ErrNotFinite, "w"},
		{"long key", map[string]any{strings.Repeat("k", MaxAttributeKey+1): 1.0}, ErrTooLong, strings.Repeat("k", MaxAttributeKey+1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Attributes(tc.attrs)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Attributes = %v, want nil", err)
				}
				return
			}
			var pe *PathError
			if !errors.Is(err, tc.want) || !errors.As(err, &pe) || pe.Path != tc.wantPath {
				t.Fatalf("Attributes = %v, want %v at %q", err, tc.want, tc.wantPath)
			}
		})
	}
}

func TestCategory(t *testing.T) {
	if err := Category([]string{"Shoes", "Running"}); err != nil {
		t.Fatalf("Category = %v", err)
	}
	if err := Category(make([]string, MaxCategoryLevels+1)); !errors.Is(err, ErrTooLong) {
		t.Fatalf("deep category: %v, want ErrTooLong", err)
	}
	if err := Category([]string{strings.Repeat("x", MaxCategoryLength+1)}); !errors.Is(err, ErrTooLong) {
		t.Fatalf("long category: %v, want ErrTooLong", err)
	}
	if err := Category([]string{"a\x00"}); !errors.Is(err, ErrNUL) {
		t.Fatalf("NUL category: %v, want ErrNUL", err)
	}
}

func TestParams(t *testing.T) {
	known := []string{"q", "k", "brand"}
	for _, tc := range []struct {
		name     string
		query    string
		want     error
		wantPath string
	}{
		{"known", "q=shoes&k=3&brand=a&brand=b&attr.color=red", nil, ""},
		{"unknown", "q=shoes&colour=red", ErrUnknownParam, ""},
		{"misspelt", "q=shoes&brands=a", ErrUnknownParam, ""},
		{"bare prefix", "q=shoes&attr.=x", ErrUnknownParam, ""},
		{"nul value", "q=evil%00", ErrNUL, "q"},
		{"bad utf8", "brand=%ff", ErrInvalidUTF8, "brand"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			err = Params(v, known, "attr.")
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Params = %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Params = %v, want %v", err, tc.want)
			}
			var pe *PathError
			if tc.wantPath != "" && (!errors.As(err, &pe) || pe.Path != tc.wantPath) {
				t.Fatalf("Params = %v, want path %q", err, tc.wantPath)
			}
			if errors.Is(err, ErrUnknownParam) && !strings.Contains(err.Error(), "known parameters: q, k, brand, attr.NAME") {
				t.Fatalf("unknown-parameter error does not list the known ones: %v", err)
			}
		})
	}
}
