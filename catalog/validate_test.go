package catalog

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// fieldOf returns the fields of a joined validation error.
func fieldsOf(err error) []string {
	var out []string
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		var fe *FieldError
		if errors.As(err, &fe) {
			out = append(out, fe.Field)
		}
	}
	walk(err)
	return out
}

func ptr[T any](v T) *T { return &v }

func TestEventValidateHostile(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	base := Event{ClientEventID: "e1", UserID: "u", ProductID: "p", Type: Click, OccurredAt: now}
	for _, tc := range []struct {
		name  string
		edit  func(*Event)
		field string // "" = valid
	}{
		{"valid", func(*Event) {}, ""},
		{"valid rating", func(e *Event) { e.Type, e.Value = Rating, ptr(4.5) }, ""},
		{"nul user", func(e *Event) { e.UserID = "evil\x00" }, "user_id"},
		{"invalid utf8 product", func(e *Event) { e.ProductID = "p\xff" }, "product_id"},
		{"nul client id", func(e *Event) { e.ClientEventID = "\x00" }, "client_event_id"},
		{"rating 1e308", func(e *Event) { e.Type, e.Value = Rating, ptr(1e308) }, "value"},
		{"rating negative", func(e *Event) { e.Type, e.Value = Rating, ptr(-5.0) }, "value"},
		{"rating NaN", func(e *Event) { e.Type, e.Value = Rating, ptr(math.NaN()) }, "value"},
		{"rating Inf", func(e *Event) { e.Type, e.Value = Rating, ptr(math.Inf(1)) }, "value"},
		{"year 1900", func(e *Event) { e.OccurredAt = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC) }, "timestamp"},
		{"far future", func(e *Event) { e.OccurredAt = now.AddDate(1, 0, 0) }, "timestamp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := base
			tc.edit(&e)
			err := e.Validate(now)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(strings.Join(fieldsOf(err), ","), tc.field) {
				t.Fatalf("Validate = %v, want a FieldError on %s", err, tc.field)
			}
		})
	}
}

func TestProductValidateHostile(t *testing.T) {
	deep := map[string]any{"a": map[string]any{"b": map[string]any{"c": map[string]any{"d": map[string]any{"e": 1.0}}}}}
	for _, tc := range []struct {
		name  string
		edit  func(*Product)
		field string
	}{
		{"valid", func(*Product) {}, ""},
		{"nul title", func(p *Product) { p.Title = "t\x00" }, "title"},
		{"bad utf8 brand", func(p *Product) { p.Brand = "\xfe" }, "brand"},
		{"nul category", func(p *Product) { p.Category = []string{"a\x00"} }, "category"},
		{"long category", func(p *Product) { p.Category = []string{strings.Repeat("c", 201)} }, "category"},
		{"deep category", func(p *Product) { p.Category = strings.Split(strings.Repeat("c,", 20)+"c", ",") }, "category"},
		{"NaN price", func(p *Product) { p.Price = ptr(math.NaN()) }, "price"},
		{"Inf price", func(p *Product) { p.Price = ptr(math.Inf(1)) }, "price"},
		{"deep attributes", func(p *Product) { p.Attributes = deep }, "attributes.a.b.c.d"},
		{"nul attribute", func(p *Product) { p.Attributes = map[string]any{"color": "r\x00"} }, "attributes.color"},
		{"nul media", func(p *Product) { p.Media = []Media{{Kind: MediaImage, URI: "http://x/\x00"}} }, "media[0].uri"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Product{ID: "p1", Title: "Shoe", Price: ptr(10.0), Attributes: map[string]any{"color": "red"}}
			tc.edit(&p)
			err := p.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			if !strings.Contains(strings.Join(fieldsOf(err), ","), tc.field) {
				t.Fatalf("Validate = %v, want a FieldError on %s", err, tc.field)
			}
		})
	}
}

func TestFilterValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		f     Filter
		field string
	}{
		{"empty", Filter{}, ""},
		{"ok", Filter{Category: []string{"Shoes"}, Brands: []string{"Acme"}, MinPrice: ptr(1.0), MaxPrice: ptr(2.0)}, ""},
		{"NaN price", Filter{MinPrice: ptr(math.NaN())}, "min_price"},
		{"order", Filter{MinPrice: ptr(3.0), MaxPrice: ptr(2.0)}, "min_price"},
		{"nul brand", Filter{Brands: []string{"\x00"}}, "brands[0]"},
		{"nul attribute", Filter{Attributes: map[string]any{"c": "\x00"}}, "attributes.c"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.f.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			if !strings.Contains(strings.Join(fieldsOf(err), ","), tc.field) {
				t.Fatalf("Validate = %v, want a FieldError on %s", err, tc.field)
			}
		})
	}
}
