// Package validate owns the boundary checks every value a client sends
// passes exactly once, whether it comes over HTTP or from an ingested file:
// strings are valid UTF-8 without NUL bytes, numbers are finite and inside
// their documented range, timestamps lie between a sane floor and a little
// past now, free-form attribute values are bounded in depth and size, and
// query parameters are ones the endpoint knows. Each check returns an error
// wrapping one of the sentinels below; the caller names the field (package
// catalog turns them into catalog.FieldError, package api into a 422 or 400
// naming the parameter). The package does no I/O.
package validate

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Sentinels wrapped by every check; match them with errors.Is.
var (
	// ErrInvalidUTF8: a string is not valid UTF-8.
	ErrInvalidUTF8 = errors.New("must be valid UTF-8")
	// ErrNUL: a string contains a NUL byte (PostgreSQL text refuses it).
	ErrNUL = errors.New("must not contain NUL bytes")
	// ErrTooLong: a string, list or nesting exceeds its limit.
	ErrTooLong = errors.New("too long")
	// ErrNotFinite: a number is NaN or infinite.
	ErrNotFinite = errors.New("must be a finite number")
	// ErrOutOfRange: a number or time lies outside its documented range.
	ErrOutOfRange = errors.New("out of range")
	// ErrUnknownParam: a query parameter the endpoint does not know.
	ErrUnknownParam = errors.New("unknown parameter")
)

// Limits on the free-form parts of a product.
const (
	// MaxAttributeDepth bounds the nesting of attribute values (an object
	// or list inside an attribute counts one level).
	MaxAttributeDepth = 4
	// MaxAttributeKey bounds one attribute name, in bytes.
	MaxAttributeKey = 128
	// MaxAttributeValues bounds the scalars of one product's attributes.
	MaxAttributeValues = 1000
	// MaxCategoryLevels bounds a category path.
	MaxCategoryLevels = 16
	// MaxCategoryLength bounds one level of a category path, in bytes.
	MaxCategoryLength = 200
	// MaxStringLength bounds an attribute string value, in bytes.
	MaxStringLength = 10_000
)

// MinTime is the earliest timestamp a client may send (the Unix epoch):
// older ones are typos or attacks, and decay arithmetic underflows on them.
func MinTime() time.Time { return time.Unix(0, 0).UTC() }

// MaxClockSkew is how far past now a client's timestamp may lie.
const MaxClockSkew = 5 * time.Minute

// Text checks that s is valid UTF-8 without NUL bytes.
func Text(s string) error {
	if !utf8.ValidString(s) {
		return ErrInvalidUTF8
	}
	if strings.IndexByte(s, 0) >= 0 {
		return ErrNUL
	}
	return nil
}

// TextMax is Text plus a length bound in bytes.
func TextMax(s string, maxBytes int) error {
	if err := Text(s); err != nil {
		return err
	}
	if len(s) > maxBytes {
		return fmt.Errorf("%w: longer than %d bytes", ErrTooLong, maxBytes)
	}
	return nil
}

// Number checks that x is finite and within [lo, hi].
func Number(x, lo, hi float64) error {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return ErrNotFinite
	}
	if x < lo || x > hi {
		return fmt.Errorf("%w: must be from %g to %g", ErrOutOfRange, lo, hi)
	}
	return nil
}

// Timestamp checks that t lies between the Unix epoch and MaxClockSkew past
// now.
func Timestamp(t, now time.Time) error {
	if t.Before(MinTime()) {
		return fmt.Errorf("%w: before %s", ErrOutOfRange, MinTime().Format("2006-01-02"))
	}
	if t.After(now.Add(MaxClockSkew)) {
		return fmt.Errorf("%w: in the future", ErrOutOfRange)
	}
	return nil
}

// Category checks a category path: at most MaxCategoryLevels levels of at
// most MaxCategoryLength bytes of clean text each.
func Category(path []string) error {
	if len(path) > MaxCategoryLevels {
		return fmt.Errorf("%w: more than %d levels", ErrTooLong, MaxCategoryLevels)
	}
	for i, c := range path {
		if err := TextMax(c, MaxCategoryLength); err != nil {
			return fmt.Errorf("level %d: %w", i, err)
		}
	}
	return nil
}

// PathError names where inside a nested value a check failed.
type PathError struct {
	// Path is the dotted path below the checked value ("size.eu", "tags[2]").
	Path string
	Err  error
}

func (e *PathError) Error() string { return e.Path + ": " + e.Err.Error() }

// Unwrap returns the check's error.
func (e *PathError) Unwrap() error { return e.Err }

// Attributes checks a product's (or a filter's) attributes as decoded from
// JSON: names and strings are clean text, numbers finite, nesting at most
// MaxAttributeDepth and at most MaxAttributeValues scalars in all. The
// error is a *PathError naming the attribute.
func Attributes(attrs map[string]any) error {
	n := 0
	return walk(attrs, "", 1, &n)
}

func walk(v any, path string, depth int, n *int) error {
	fail := func(err error) error {
		if pe := (*PathError)(nil); errors.As(err, &pe) {
			return err
		}
		return &PathError{Path: path, Err: err}
	}
	switch x := v.(type) {
	case map[string]any:
		if depth > MaxAttributeDepth {
			return fail(fmt.Errorf("%w: nested deeper than %d levels", ErrTooLong, MaxAttributeDepth))
		}
		for _, k := range slices.Sorted(maps.Keys(x)) {
			p := joinPath(path, k)
			if err := TextMax(k, MaxAttributeKey); err != nil {
				return &PathError{Path: p, Err: fmt.Errorf("name %w", err)}
			}
			if err := walk(x[k], p, depth+1, n); err != nil {
				return err
			}
		}
	case []any:
		if depth > MaxAttributeDepth {
			return fail(fmt.Errorf("%w: nested deeper than %d levels", ErrTooLong, MaxAttributeDepth))
		}
		for i, e := range x {
			if err := walk(e, fmt.Sprintf("%s[%d]", path, i), depth+1, n); err != nil {
				return err
			}
		}
	default:
		if *n++; *n > MaxAttributeValues {
			return fail(fmt.Errorf("%w: more than %d values", ErrTooLong, MaxAttributeValues))
		}
		return scalar(v, path)
	}
	return nil
}

func scalar(v any, path string) error {
	var err error
	switch x := v.(type) {
	case string:
		err = TextMax(x, MaxStringLength)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			err = ErrNotFinite
		}
	case float32:
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			err = ErrNotFinite
		}
	}
	if err != nil {
		return &PathError{Path: path, Err: err}
	}
	return nil
}

func joinPath(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// Params checks that every query parameter is one of known or starts with
// one of prefixes ("attr."), and that every value is clean text. An
// unknown parameter gives an error wrapping ErrUnknownParam that lists the
// known ones; a bad value a *PathError naming the parameter.
func Params(got url.Values, known []string, prefixes ...string) error {
	var unknown []string
	for _, name := range slices.Sorted(maps.Keys(got)) {
		if err := Text(name); err != nil {
			return &PathError{Path: "query", Err: fmt.Errorf("parameter name %w", err)}
		}
		if !slices.Contains(known, name) && !hasAnyPrefix(name, prefixes) {
			unknown = append(unknown, name)
			continue
		}
		for _, v := range got[name] {
			if err := Text(v); err != nil {
				return &PathError{Path: name, Err: err}
			}
		}
	}
	if len(unknown) > 0 {
		list := append(slices.Clone(known), prefixesHelp(prefixes)...)
		return fmt.Errorf("%w %s; known parameters: %s", ErrUnknownParam, strings.Join(unknown, ", "), strings.Join(list, ", "))
	}
	return nil
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) && len(s) > len(p) {
			return true
		}
	}
	return false
}

func prefixesHelp(prefixes []string) []string {
	out := make([]string, len(prefixes))
	for i, p := range prefixes {
		out[i] = p + "NAME"
	}
	return out
}
