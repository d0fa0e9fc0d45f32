package records

// Scored is a product with a score from one retrieval method.
type Scored struct {
	ProductID string
	Score     float64
}

// Facets are counts of candidate products by top category, brand and price
// band.
type Facets struct {
	Category map[string]int `json:"category"`
	Brand    map[string]int `json:"brand"`
	Price    map[string]int `json:"price"`
}

// Suggestion is one search-as-you-type completion.
type Suggestion struct {
	Text  string  `json:"text"`
	Kind  string  `json:"kind"` // title, brand, category or query
	Score float64 `json:"score"`
}
