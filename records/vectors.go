package records

import (
	"encoding/json"
	"errors"
	"time"
)

// pgvector's HNSW limits by column type.
const (
	MaxVectorDims  = 2000
	MaxHalfvecDims = 4000
)

// Storage is the column type a space's vectors are kept in.
type Storage string

// Vector storage types: full-precision vector, or halfvec (float16) which
// halves storage and allows up to 4,000 indexed dimensions.
const (
	StorageVector  Storage = "vector"
	StorageHalfvec Storage = "halfvec"
)

// SpaceState is where a vector space is in its life.
type SpaceState string

// States: building (backfill running), ready (complete, not serving),
// active (serving; at most one), retired (kept for rollback).
const (
	SpaceBuilding SpaceState = "building"
	SpaceReady    SpaceState = "ready"
	SpaceActive   SpaceState = "active"
	SpaceRetired  SpaceState = "retired"
)

// Space is one version of the product vector space.
type Space struct {
	Version     int
	Name        string
	Spec        json.RawMessage // models, fusion strategy, weights (owned by package fusion)
	Dim         int
	Storage     Storage
	State       SpaceState
	CreatedAt   time.Time
	ActivatedAt *time.Time
	Vectors     int64 // number of product vectors, filled by ListSpaces
}

// NewSpace describes a space to create.
type NewSpace struct {
	Name string
	Spec json.RawMessage
	Dim  int
	// Storage defaults to vector up to 2,000 dimensions and halfvec above.
	Storage Storage
	// DeferIndex skips building the HNSW index now (a backfill builds it
	// once, after loading, which is much faster than row-by-row inserts).
	DeferIndex bool
}

// ErrTooManyDims means no pgvector index type can hold the dimension.
var ErrTooManyDims = errors.New("too many dimensions for an HNSW index")

// ProductVector is a product's fused vector in one space.
type ProductVector struct {
	ProductID  string
	Vector     []float32
	SourceHash []byte // hash of the per-model embeddings it was fused from
}
