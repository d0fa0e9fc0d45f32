package records

// ImageKeypoints are the stored local features of one view of a product
// (extractors/keypoints' encoding), which search by photo verifies its top
// candidates against. View and Source are those of the ImageView they
// belong to; a product's catalog image has ViewCatalog for both.
type ImageKeypoints struct {
	ProductID string
	View      string
	Source    string
	Data      []byte
}
