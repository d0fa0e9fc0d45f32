package store

import "github.com/vitrinehq/vitrine/records"

// Aliases of the plain row types, which live in package records so that
// consumers need not import store.
type Scope = records.Scope

const ScopeRead = records.ScopeRead
const ScopeWrite = records.ScopeWrite
const ScopeAdmin = records.ScopeAdmin

var ErrRevoked = records.ErrRevoked

type APIKey = records.APIKey

type Embedding = records.Embedding

// TrainingEvent is records.TrainingEvent (kept while cmd/vitrine moves).
type TrainingEvent = records.TrainingEvent

const SurfaceSearch = records.SurfaceSearch
const SurfaceRank = records.SurfaceRank
const SurfaceRecommendations = records.SurfaceRecommendations
const SurfaceSimilar = records.SurfaceSimilar
const SurfaceImageSearch = records.SurfaceImageSearch

type Impression = records.Impression
type OnlineQuery = records.OnlineQuery
type OnlineCount = records.OnlineCount

type Neighbor = records.Neighbor
type NearestQuery = records.NearestQuery

var ErrNotFound = records.ErrNotFound
var ErrUnknownProduct = records.ErrUnknownProduct
var ErrNoActiveSpace = records.ErrNoActiveSpace

type DimensionError = records.DimensionError

type Space = records.Space
type NewSpace = records.NewSpace
