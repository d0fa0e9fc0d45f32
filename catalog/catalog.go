// Package catalog holds the plain types every layer shares (products,
// media, events, filters) and their validation; it does no I/O.
package catalog

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/vitrinehq/vitrine/validate"
)

// Limits that keep one product row sane.
const (
	MaxIDLength    = 256
	MaxTitleLength = 1000
	MaxDescLength  = 100_000
	MaxMedia       = 32
	MaxURILength   = 4096
	// MaxPrice bounds a price (and a price filter).
	MaxPrice = 1e10
	// MinRating and MaxRating bound a rating event's value (stars).
	MinRating = 1
	MaxRating = 5
)

// MediaKind is the modality of a media reference.
type MediaKind string

// Media kinds a product may reference.
const (
	MediaImage MediaKind = "image"
	MediaAudio MediaKind = "audio"
)

// Media is a reference to a product image or sound: a local path, a
// file:// URL or an http(s):// URL.
type Media struct {
	Kind MediaKind `json:"kind"`
	URI  string    `json:"uri"`
}

// Product is one catalog item as ingested.
type Product struct {
	ID          string         `json:"id"`
	Title       string         `json:"title"`
	Description string         `json:"description,omitempty"`
	Brand       string         `json:"brand,omitempty"`
	Category    []string       `json:"category,omitempty"` // path, root first
	Price       *float64       `json:"price,omitempty"`
	Currency    string         `json:"currency,omitempty"`
	Attributes  map[string]any `json:"attributes,omitempty"`
	Media       []Media        `json:"media,omitempty"`
	CreatedAt   time.Time      `json:"created_at,omitzero"`
	UpdatedAt   time.Time      `json:"updated_at,omitzero"`
}

// FieldError names the field that is wrong and why. Callers turn it into a
// problem+json body or a reject-file line.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// ErrInvalid is wrapped by every validation failure.
var ErrInvalid = errors.New("invalid input")

// Is makes errors.Is(err, ErrInvalid) true for a *FieldError.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Validate checks a product and normalises harmless differences (surrounding
// spaces, currency case) in place. Every string is valid UTF-8 without NUL,
// the price finite, the category and attributes bounded (package validate).
func (p *Product) Validate() error {
	p.ID = strings.TrimSpace(p.ID)
	p.Title = strings.TrimSpace(p.Title)
	p.Brand = strings.TrimSpace(p.Brand)
	p.Currency = strings.ToUpper(strings.TrimSpace(p.Currency))
	errs := []error{checkID("id", p.ID)}
	switch {
	case p.Title == "":
		errs = append(errs, fieldErr("title", "is required"))
	default:
		errs = append(errs, textField("title", p.Title, MaxTitleLength))
	}
	errs = append(errs, textField("description", p.Description, MaxDescLength), textField("brand", p.Brand, MaxTitleLength))
	for i, c := range p.Category {
		p.Category[i] = strings.TrimSpace(c)
		if p.Category[i] == "" {
			errs = append(errs, fieldErr(fmt.Sprintf("category[%d]", i), "is empty"))
		}
	}
	if err := validate.Category(p.Category); err != nil {
		errs = append(errs, fieldErr("category", "%v", err))
	}
	if p.Price != nil {
		if err := validate.Number(*p.Price, 0, MaxPrice); err != nil {
			errs = append(errs, fieldErr("price", "%v", err))
		}
	}
	if p.Currency != "" && (len(p.Currency) != 3 || strings.Trim(p.Currency, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "") {
		errs = append(errs, fieldErr("currency", "must be a 3-letter ISO 4217 code"))
	}
	errs = append(errs, attributesField("attributes", p.Attributes))
	return errors.Join(append(errs, p.validateMedia()...)...)
}

func (p *Product) validateMedia() []error {
	var errs []error
	if len(p.Media) > MaxMedia {
		errs = append(errs, fieldErr("media", "has more than %d entries", MaxMedia))
	}
	for i, m := range p.Media {
		if m.Kind != MediaImage && m.Kind != MediaAudio {
			errs = append(errs, fieldErr(fmt.Sprintf("media[%d].kind", i), "is not image or audio"))
		}
		if strings.TrimSpace(m.URI) == "" {
			errs = append(errs, fieldErr(fmt.Sprintf("media[%d].uri", i), "is required"))
		} else {
			errs = append(errs, textField(fmt.Sprintf("media[%d].uri", i), m.URI, MaxURILength))
		}
	}
	return errs
}

// checkID checks a product or user id: required, at most MaxIDLength bytes
// of clean text without line breaks, tabs or '/'.
func checkID(field, id string) error {
	switch {
	case id == "":
		return fieldErr(field, "is required")
	case len(id) > MaxIDLength:
		return fieldErr(field, "is longer than %d bytes", MaxIDLength)
	case validate.Text(id) != nil || strings.ContainsAny(id, "\n\r\t/"):
		return fieldErr(field, "must be valid UTF-8 without control characters or '/'")
	}
	return nil
}

// textField checks a free-text field (empty allowed).
func textField(field, v string, maxBytes int) error {
	if err := validate.TextMax(v, maxBytes); err != nil {
		return fieldErr(field, "%v", err)
	}
	return nil
}

// attributesField checks free-form attributes, naming the attribute.
func attributesField(field string, attrs map[string]any) error {
	err := validate.Attributes(attrs)
	var pe *validate.PathError
	if errors.As(err, &pe) {
		return fieldErr(field+"."+pe.Path, "%v", pe.Err)
	}
	return nil
}

// ContentHash identifies a product's content: equal hashes mean nothing
// changed that could change its row or its vectors. Map keys are sorted by
// encoding/json, so the hash is stable.
func (p Product) ContentHash() []byte {
	c := struct {
		ID, Title, Description, Brand string
		Category                      []string
		Price                         *float64
		Currency                      string
		Attributes                    map[string]any
		Media                         []Media
	}{p.ID, p.Title, p.Description, p.Brand, p.Category, p.Price, p.Currency, p.Attributes, p.Media}
	b, _ := json.Marshal(c) // only JSON-safe types; cannot fail
	sum := sha256.Sum256(b)
	return sum[:]
}

// MediaOf returns the product's media of one kind, in order.
func (p Product) MediaOf(kind MediaKind) []Media {
	var out []Media
	for _, m := range p.Media {
		if m.Kind == kind {
			out = append(out, m)
		}
	}
	return out
}

// EventType is what a user did with a product.
type EventType string

// The event types, from weakest to strongest signal.
const (
	View      EventType = "view"
	Click     EventType = "click"
	AddToCart EventType = "add_to_cart"
	Purchase  EventType = "purchase"
	Rating    EventType = "rating"
)

// ValidEventType reports whether t is known.
func ValidEventType(t EventType) bool {
	switch t {
	case View, Click, AddToCart, Purchase, Rating:
		return true
	}
	return false
}

// Event is one user interaction, idempotent on (UserID, ClientEventID).
type Event struct {
	ClientEventID string    `json:"client_event_id"`
	UserID        string    `json:"user_id"`
	ProductID     string    `json:"product_id"`
	Type          EventType `json:"type"`
	Value         *float64  `json:"value,omitempty"` // rating only
	OccurredAt    time.Time `json:"timestamp"`
	// ImpressionID optionally names the served list (the impression_id of
	// a search, rank, recommendations, similar or photo response) the
	// event came from, for exact attribution in online metrics.
	ImpressionID string `json:"impression_id,omitempty"`
}

// Validate checks an event against the clock now: ids are clean text
// within their lengths, a rating's value is finite and from MinRating to
// MaxRating, the timestamp from the Unix epoch to a few minutes past now.
func (e *Event) Validate(now time.Time) error {
	var errs []error
	if e.ClientEventID == "" || len(e.ClientEventID) > 128 {
		errs = append(errs, fieldErr("client_event_id", "is required (at most 128 bytes)"))
	} else {
		errs = append(errs, textField("client_event_id", e.ClientEventID, 128))
	}
	if e.UserID == "" || len(e.UserID) > MaxIDLength {
		errs = append(errs, fieldErr("user_id", "is required (at most %d bytes)", MaxIDLength))
	} else {
		errs = append(errs, textField("user_id", e.UserID, MaxIDLength))
	}
	if e.ProductID == "" {
		errs = append(errs, fieldErr("product_id", "is required"))
	} else {
		errs = append(errs, textField("product_id", e.ProductID, MaxIDLength))
	}
	if !ValidEventType(e.Type) {
		errs = append(errs, fieldErr("type", "is not one of view, click, add_to_cart, purchase, rating"))
	}
	if (e.Type == Rating) != (e.Value != nil) {
		errs = append(errs, fieldErr("value", "is required for ratings and only for ratings"))
	} else if e.Value != nil {
		if err := validate.Number(*e.Value, MinRating, MaxRating); err != nil {
			errs = append(errs, fieldErr("value", "%v", err))
		}
	}
	if e.OccurredAt.IsZero() {
		errs = append(errs, fieldErr("timestamp", "is required"))
	} else if err := validate.Timestamp(e.OccurredAt, now); err != nil {
		errs = append(errs, fieldErr("timestamp", "%v", err))
	}
	if e.ImpressionID != "" && !ValidUUID(e.ImpressionID) {
		errs = append(errs, fieldErr("impression_id", "must be a UUID (as returned in impression_id)"))
	}
	return errors.Join(errs...)
}

// Validate checks a filter a client sent: clean text, a bounded category,
// finite non-negative prices in order and bounded attributes. Field names
// are relative to the filter ("min_price", "attributes.color").
func (f Filter) Validate() error {
	var errs []error
	if err := validate.Category(f.Category); err != nil {
		errs = append(errs, fieldErr("category", "%v", err))
	}
	for i, b := range f.Brands {
		errs = append(errs, textField(fmt.Sprintf("brands[%d]", i), b, MaxTitleLength))
	}
	for i, id := range f.Exclude {
		errs = append(errs, textField(fmt.Sprintf("exclude[%d]", i), id, MaxIDLength))
	}
	for name, p := range map[string]*float64{"min_price": f.MinPrice, "max_price": f.MaxPrice} {
		if p != nil {
			if err := validate.Number(*p, 0, MaxPrice); err != nil {
				errs = append(errs, fieldErr(name, "%v", err))
			}
		}
	}
	if f.MinPrice != nil && f.MaxPrice != nil && *f.MinPrice > *f.MaxPrice {
		errs = append(errs, fieldErr("min_price", "is greater than max_price"))
	}
	errs = append(errs, attributesField("attributes", f.Attributes))
	return errors.Join(errs...)
}

// ValidUUID reports whether s is a UUID in canonical text form
// (8-4-4-4-12 hexadecimal digits).
func ValidUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// Filter restricts candidate products. Every set field must match.
type Filter struct {
	// Category matches products whose category path starts with it.
	Category []string `json:"category,omitempty"`
	Brands   []string `json:"brands,omitempty"`
	MinPrice *float64 `json:"min_price,omitempty"`
	MaxPrice *float64 `json:"max_price,omitempty"`
	// Attributes matches products whose attributes contain these pairs.
	Attributes map[string]any `json:"attributes,omitempty"`
	// Exclude drops these product ids (for example items already bought).
	Exclude []string `json:"exclude,omitempty"`
}

// Empty reports whether the filter lets everything through.
func (f Filter) Empty() bool {
	return len(f.Category) == 0 && len(f.Brands) == 0 && f.MinPrice == nil && f.MaxPrice == nil &&
		len(f.Attributes) == 0 && len(f.Exclude) == 0
}

// Clone returns a deep-enough copy for callers that add exclusions.
func (f Filter) Clone() Filter {
	g := f
	g.Category = slices.Clone(f.Category)
	g.Brands = slices.Clone(f.Brands)
	g.Exclude = slices.Clone(f.Exclude)
	g.Attributes = maps.Clone(f.Attributes)
	return g
}
