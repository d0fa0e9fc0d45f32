package records

import "github.com/vitrinehq/vitrine/catalog"

// TextQuery is one lexical search.
type TextQuery struct {
	Text   string
	Filter catalog.Filter
	K      int
	// Facets asks for the facet counts of the whole match set.
	Facets bool
}

// TextMatches is a lexical search's answer.
type TextMatches struct {
	// Hits are the best K matches, best first.
	Hits []TextHit
	// Total is the number of products that match the query and filter.
	Total int
	// Facets count every match (when asked for).
	Facets Facets
}

// TextHit is one lexical match.
type TextHit struct {
	ProductID string
	Score     float64
	// InTitle says the product's title holds every query word (as
	// analysed: stems, corrected typos, synonyms).
	InTitle bool
}
