package records

import "github.com/vitrinehq/vitrine/catalog"

// Neighbor is one search hit.
type Neighbor struct {
	ProductID string
	// Distance is the cosine distance (0 = same direction, 2 = opposite);
	// similarity is 1 - Distance.
	Distance float64
}

// NearestQuery asks for the K products nearest to Vector in a space, or in
// one model's embeddings when Model is set.
type NearestQuery struct {
	Space  int    // vector space version (ignored when Model is set)
	Model  string // model key: search its per-model embeddings instead
	Vector []float32
	K      int
	Filter catalog.Filter
	// EfSearch is the HNSW candidate list size; 0 picks max(8K, 80).
	EfSearch int
	// Exact scans every matching row instead of using the index (the
	// baseline for recall measurements, and the fallback).
	Exact bool
}

// MaxK bounds K so one query cannot ask for the whole catalog.
const MaxK = 1000
