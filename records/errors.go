package records

import (
	"errors"
	"fmt"
)

// Errors callers branch on with errors.Is / errors.As.
var (
	ErrNotFound       = errors.New("not found")
	ErrUnknownProduct = errors.New("unknown product")
	ErrNoActiveSpace  = errors.New("no active vector space")
	ErrConflict       = errors.New("conflict")
	ErrNoPgvector     = errors.New("pgvector extension missing")
)

// DimensionError reports a vector whose length does not match its space or
// model.
type DimensionError struct {
	What      string
	Want, Got int
}

func (e *DimensionError) Error() string {
	return fmt.Sprintf("%s: vector has %d dimensions, want %d", e.What, e.Got, e.Want)
}

// UnknownProductError names the product ids that do not exist.
type UnknownProductError struct{ IDs []string }

func (e *UnknownProductError) Error() string {
	return fmt.Sprintf("unknown product %q", e.IDs)
}

// Is makes errors.Is(err, ErrUnknownProduct) work.
func (e *UnknownProductError) Is(target error) bool { return target == ErrUnknownProduct }

// Info describes the server for `vitrine db status`.
type Info struct {
	ServerVersion   string
	PgvectorVersion string
	SchemaVersion   int64
}
