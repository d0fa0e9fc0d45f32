package store

import "github.com/vitrinehq/vitrine/records"

// Aliases of the plain row types, which live in package records so that
// consumers need not import store.

type Embedding = records.Embedding

// TrainingEvent is records.TrainingEvent (kept while cmd/vitrine moves).
type TrainingEvent = records.TrainingEvent

const SurfaceSearch = records.SurfaceSearch

type Impression = records.Impression

var ErrNotFound = records.ErrNotFound
var ErrNoActiveSpace = records.ErrNoActiveSpace

type Space = records.Space
type NewSpace = records.NewSpace
