package serving

import (
	"context"
	"time"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/records"
)

// Catalog reads products.
type Catalog interface {
	// GetProduct returns records.ErrNotFound (wrapped) for an unknown id.
	GetProduct(ctx context.Context, id string) (catalog.Product, error)
	// GetProducts returns the products that exist, by id; unknown ids are
	// left out.
	GetProducts(ctx context.Context, ids []string) (map[string]catalog.Product, error)
	// CandidateFeatures returns, in one read, the brand and category of
	// the live products among ids (Live) and the fused vectors in space
	// and item factors in model version (0: none) of every id that has
	// them; ids with none of these are absent. Recommendations and similar
	// products read their candidates with it, and full products only for
	// the products they keep.
	CandidateFeatures(ctx context.Context, space, version int, ids []string) (map[string]records.CandidateFeatures, error)
}

// Vectors reads the fused product vectors and searches them.
type Vectors interface {
	// ActiveSpace returns records.ErrNoActiveSpace when nothing is ingested.
	ActiveSpace(ctx context.Context) (records.Space, error)
	Nearest(ctx context.Context, q records.NearestQuery) ([]records.Neighbor, error)
	// ProductVectors returns the vectors that exist, by product id.
	ProductVectors(ctx context.Context, space int, ids []string) (map[string][]float32, error)
	// ModelVectors returns one model's stored embeddings of the products
	// that have one, by product id.
	ModelVectors(ctx context.Context, model string, ids []string) (map[string][]float32, error)
}

// Factors reads the active collaborative-filtering model.
type Factors interface {
	// ActiveCFModel returns records.ErrNoCFModel when none is trained.
	ActiveCFModel(ctx context.Context) (records.CFModel, error)
	// ActiveCFVersion returns the active model's version alone (the key
	// of the service's cached model row); records.ErrNoCFModel when none.
	ActiveCFVersion(ctx context.Context) (int, error)
	// UserFactors returns records.ErrNotFound for a user the model lacks.
	UserFactors(ctx context.Context, version int, userID string) ([]float32, error)
	ItemFactors(ctx context.Context, version int, ids []string) (map[string][]float32, error)
	TopItemsByFactors(ctx context.Context, m records.CFModel, user []float32, k int, exclude []string) ([]records.Scored, error)
}

// Neighbours reads the per-item neighbour lists training stored with a
// model version for an item-based method (and the "together" lists), and
// reads and writes the products' content-neighbour lists in a space (the
// recommendations' content leg, recommend_content.go).
type Neighbours interface {
	// ItemNeighbours returns the lists of the ids that have one.
	ItemNeighbours(ctx context.Context, version int, method string, ids []string) (map[string][]records.Scored, error)
	// ContentNeighbours returns the content-neighbour lists in a space of
	// the ids that have one stored at or after since and after their
	// product's vector was last written.
	ContentNeighbours(ctx context.Context, space int, ids []string, since time.Time) (map[string][]records.Scored, error)
	// SaveContentNeighbours stores content-neighbour lists as of at.
	SaveContentNeighbours(ctx context.Context, space int, lists map[string][]records.Scored, at time.Time) error
}

// Trending ranks products by popularity velocity: their events since
// now−recent, decayed, over the rate the baseline before predicts.
type Trending interface {
	TrendingProducts(ctx context.Context, now time.Time, recent, baseline time.Duration, k int, exclude []string) ([]records.Scored, error)
}

// Events reads and records behaviour.
type Events interface {
	InsertEvents(ctx context.Context, evs []catalog.Event) ([]records.EventResult, error)
	Purchased(ctx context.Context, userID string) ([]string, error)
	// RecUser reads the user's purchases, latest events (newest first, at
	// most limit), vector in space, and the active model's version (0:
	// none) with the user's factors in it, in one round trip.
	RecUser(ctx context.Context, userID string, space, limit int) (records.RecUser, error)
	// UserRetrievalPayload returns the payload of the user's stored
	// retrieval when its digest is this one (nil when not).
	UserRetrievalPayload(ctx context.Context, userID string, digest []byte) ([]byte, error)
	// SaveUserRetrieval stores the user's retrieval where every process's
	// RecUser reads it, replacing the one stored (none for a user the
	// store does not know).
	SaveUserRetrieval(ctx context.Context, userID string, r records.StoredRetrieval) error
	// PruneUserRetrievals empties the payloads of the retrievals stored
	// before the time given, keeping their digests and times.
	PruneUserRetrievals(ctx context.Context, before time.Time) (int64, error)
	// RecentRetrievalUsers returns the users whose retrievals were stored
	// most recently, the latest first, at most n.
	RecentRetrievalUsers(ctx context.Context, n int) ([]string, error)
	// UserCategories returns the user's n most interacted-with categories.
	UserCategories(ctx context.Context, userID string, n int) ([]string, error)
	PopularProducts(ctx context.Context, now time.Time, k int) ([]records.Scored, error)
}

// Users reads and writes the per-user state.
type Users interface {
	// GetUserVector returns records.ErrNotFound for a user with no vector.
	GetUserVector(ctx context.Context, userID string, space int) (records.UserVector, error)
	// UpdateUserVector runs fn on the current vector (zero when none) under
	// a per-user lock and stores what it returns.
	UpdateUserVector(ctx context.Context, userID string, space int, fn func(cur records.UserVector) (records.UserVector, error)) error
	// DeleteUser erases everything that names the user; records.ErrNotFound
	// when nothing did.
	DeleteUser(ctx context.Context, userID string) error
}

// Text is the lexical side of search: full-text retrieval with the match
// count and facets, facets of given products, suggestions and the query
// log. The in-memory index (lexical.Text) and PostgreSQL full text
// (*store.Store, the baseline) implement it; an external engine would too.
type Text interface {
	// SearchText returns the best q.K products matching q.Text and
	// q.Filter, how many match in all, and (when q.Facets) the facets of
	// every match. An invalid query wraps catalog.ErrInvalid.
	SearchText(ctx context.Context, q records.TextQuery) (records.TextMatches, error)
	// Facets counts the given live products.
	Facets(ctx context.Context, ids []string) (records.Facets, error)
	Suggest(ctx context.Context, prefix string, k int, boostCategories []string) ([]records.Suggestion, error)
	LogQuery(ctx context.Context, userID, q string) error
}

// Encoder is one loaded model as the serving layer uses it: a query (text,
// or image bytes) to a vector. Key names the model's per-model embeddings.
// Inputs with nothing to encode fail with encerr.ErrEmptyInput.
type Encoder interface {
	Key() string
	Encode(ctx context.Context, input []byte) ([]float32, error)
}

// Backend is everything the serving layer reads and writes, as one value
// (*store.Store is one).
type Backend interface {
	Catalog
	Vectors
	Factors
	Neighbours
	Events
	Trending
	Users
	Text
}

// Deps are the parts a Service uses. Every field but ImageEncoder is
// required.
type Deps struct {
	Catalog    Catalog
	Vectors    Vectors
	Factors    Factors
	Neighbours Neighbours
	Events     Events
	Trending   Trending
	Users      Users
	Text       Text
	// TextEncoder encodes search queries; ImageEncoder (nil: search by
	// photo answers ErrNoImageModel) encodes photos.
	TextEncoder  Encoder
	ImageEncoder Encoder
}

// DepsFrom fills every store dependency from one backend.
func DepsFrom(b Backend, text, image Encoder) Deps {
	return Deps{Catalog: b, Vectors: b, Factors: b, Neighbours: b, Events: b, Trending: b, Users: b, Text: b,
		TextEncoder: text, ImageEncoder: image}
}
