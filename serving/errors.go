package serving

import (
	"errors"
	"fmt"
)

// Errors the use cases return; callers match them with errors.Is. A
// missing product or user is records.ErrNotFound, a missing vector space
// records.ErrNoActiveSpace.
var (
	// ErrNoUserVector: the user has no events in the active vector space.
	ErrNoUserVector = errors.New("no user vector")
	// ErrNotIndexed: the product exists but has no vector in the active
	// space (yet).
	ErrNotIndexed = errors.New("not indexed")
	// ErrNoImageModel: search by photo needs an image model.
	ErrNoImageModel = errors.New("no image model")
)

// FieldError is a request field the use case cannot serve; Field is the
// snake_case name of the request field ("k", "query", "user_vector",
// "filter.min_price", ...).
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

func fieldError(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}
