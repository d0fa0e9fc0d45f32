package records

import (
	"time"

	"github.com/vitrinehq/vitrine/catalog"
)

// RecUser is what a recommendation reads about its user, in one round
// trip: every independent read a request starts with.
type RecUser struct {
	// Purchased are the products the user bought, each once.
	Purchased []string
	// Events are the user's latest events, newest first.
	Events []catalog.Event
	// Vector is the user's content vector in the space read; nil when
	// none is stored.
	Vector []float32
	// CFVersion is the active collaborative-filtering model's version, 0
	// when none is active; Factors the user's factors in it (nil when the
	// model lacks the user).
	CFVersion int
	Factors   []float32
	// Retrieval is the user's stored retrieval, its digest and time only
	// (zero when none is stored).
	Retrieval StoredRetrieval
}

// StoredRetrieval is a retrieval kept where every process reads it: an
// opaque payload (what the serving layer encodes), the digest of the
// inputs it was retrieved from, and when. It is derived data: a reader
// whose inputs hash to another digest, or that finds it too old,
// retrieves afresh.
type StoredRetrieval struct {
	Digest  []byte
	Payload []byte
	At      time.Time
}

// CandidateFeatures is what re-ranking and the blend read of a candidate
// product: its brand and category path (caps, the brand exposure Gini),
// its fused vector and its item factors. It is a light read: the full
// product (description, attributes, media) is read only for the products
// a list keeps.
type CandidateFeatures struct {
	// Live: the product exists and is not deleted; Brand and Category are
	// set only then.
	Live     bool
	Brand    string
	Category []string
	// Vector is the fused vector in the space read, Factors the item
	// factors in the model read; nil when none is stored.
	Vector, Factors []float32
}
