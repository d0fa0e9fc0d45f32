package records

// ImageView is one image of a product as an image model embedded it: a
// catalog image or an extra view (a shopper's photo, say). Search by
// photo matches every view and answers each product once.
type ImageView struct {
	ProductID string
	// View is the image's reference (path or URL); catalog images (the
	// product's averaged catalog embedding) have ViewCatalog.
	View string
	// Source groups views added together (removed together); catalog
	// images have ViewCatalog.
	Source string
	Vector []float32
}

// ViewCatalog names the product's own catalog embedding among its views.
const ViewCatalog = "catalog"
