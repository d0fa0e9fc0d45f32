package records

// Embedding is one model's vector for one product. Kept per model so a
// fusion re-weighting never re-runs a model and a model change re-runs
// only that model.
type Embedding struct {
	ProductID string
	Model     string // manifest name@version
	Modality  string
	InputHash []byte // hash of the encoded input
	Vector    []float32
}
