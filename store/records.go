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

var ErrNoCFModel = records.ErrNoCFModel

type TrainingEvent = records.TrainingEvent
type CFModel = records.CFModel
type Embedding = records.Embedding
type EventStatus = records.EventStatus

const EventInserted = records.EventInserted
const EventDuplicate = records.EventDuplicate
const EventFailed = records.EventFailed

type EventResult = records.EventResult
type UserVector = records.UserVector

const SurfaceSearch = records.SurfaceSearch
const SurfaceRank = records.SurfaceRank
const SurfaceRecommendations = records.SurfaceRecommendations
const SurfaceSimilar = records.SurfaceSimilar
const SurfaceImageSearch = records.SurfaceImageSearch

type Impression = records.Impression
type OnlineQuery = records.OnlineQuery
type OnlineCount = records.OnlineCount
type UpsertStatus = records.UpsertStatus

const Inserted = records.Inserted
const Updated = records.Updated
const Unchanged = records.Unchanged
const Failed = records.Failed

type UpsertResult = records.UpsertResult
type Neighbor = records.Neighbor
type NearestQuery = records.NearestQuery

const MaxK = records.MaxK

var ErrNotFound = records.ErrNotFound
var ErrUnknownProduct = records.ErrUnknownProduct
var ErrNoActiveSpace = records.ErrNoActiveSpace
var ErrConflict = records.ErrConflict
var ErrNoPgvector = records.ErrNoPgvector

type DimensionError = records.DimensionError
type UnknownProductError = records.UnknownProductError
type Info = records.Info
type Scored = records.Scored
type Facets = records.Facets
type Suggestion = records.Suggestion

const MaxVectorDims = records.MaxVectorDims
const MaxHalfvecDims = records.MaxHalfvecDims

type Storage = records.Storage

const StorageVector = records.StorageVector
const StorageHalfvec = records.StorageHalfvec

type SpaceState = records.SpaceState

const SpaceBuilding = records.SpaceBuilding
const SpaceReady = records.SpaceReady
const SpaceActive = records.SpaceActive
const SpaceRetired = records.SpaceRetired

type Space = records.Space
type NewSpace = records.NewSpace

var ErrTooManyDims = records.ErrTooManyDims

type ProductVector = records.ProductVector
