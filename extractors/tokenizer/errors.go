package tokenizer

import (
	"errors"
	"fmt"
)

// ErrUnsupported is matched (errors.Is) by every UnsupportedComponentError,
// so callers can tell "this file needs a feature we lack" from a broken file.
var ErrUnsupported = errors.New("tokenizer: unsupported component")

// ErrInvalidConfig reports a tokenizer.json that is malformed or internally
// inconsistent (a merge naming an unknown token, an unk token missing from
// the vocabulary, ...).
var ErrInvalidConfig = errors.New("tokenizer: invalid tokenizer.json")

// UnsupportedComponentError names the component of a tokenizer.json that
// this package cannot run, e.g. Component "normalizer", Type "Precompiled".
type UnsupportedComponentError struct {
	Component string // normalizer, pre_tokenizer, model, post_processor
	Type      string // the "type" field as written in the file
	Reason    string // optional detail, e.g. why a regex was refused
}

func (e *UnsupportedComponentError) Error() string {
	msg := fmt.Sprintf("tokenizer: unsupported %s type %q", e.Component, e.Type)
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	return msg
}

// Unwrap lets errors.Is(err, ErrUnsupported) succeed.
func (e *UnsupportedComponentError) Unwrap() error { return ErrUnsupported }

func unsupported(component, typ, reason string) error {
	return &UnsupportedComponentError{Component: component, Type: typ, Reason: reason}
}

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
}
