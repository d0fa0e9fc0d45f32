package records

import "time"

// Surfaces: the kinds of list an impression records.
const (
	SurfaceSearch          = "search"
	SurfaceRank            = "rank"
	SurfaceRecommendations = "recommendations"
	SurfaceSimilar         = "similar"
	SurfaceImageSearch     = "image_search"
	SurfaceTogether        = "together"
	SurfaceTrending        = "trending"
)

// Surfaces lists every surface, in report order.
func Surfaces() []string {
	return []string{SurfaceSearch, SurfaceRank, SurfaceRecommendations, SurfaceSimilar, SurfaceImageSearch, SurfaceTogether, SurfaceTrending}
}

// Impression is one list served to a user (or to an anonymous request).
type Impression struct {
	ID         string // UUID, minted by the caller
	UserID     string // "" for anonymous requests
	Surface    string
	Experiment string // "" when no experiment ran
	Variant    string
	ProductIDs []string // in served order
	ServedAt   time.Time
}

// OnlineQuery selects the impressions of an online-metrics report and the
// attribution windows.
type OnlineQuery struct {
	// Since and Until bound served_at: [Since, Until).
	Since, Until time.Time
	// Experiment restricts to one experiment; "" reports every one (lists
	// served with no experiment have experiment and variant "").
	Experiment string
	// Surface restricts to one surface; "" reports each and their total.
	Surface string
	// ClickWindow and ConversionWindow: how long after a list was served a
	// click, or a purchase, still counts for it.
	ClickWindow, ConversionWindow time.Duration
	// IncludeAnonymous counts lists served without a user id. They always
	// get the control variant (they cannot be randomised), so they are left
	// out of A/B comparisons by default.
	IncludeAnonymous bool
}

// OnlineCount is one row of an online-metrics report.
type OnlineCount struct {
	Experiment, Variant string
	// Surface is "" on the variant's total over all surfaces.
	Surface string
	// Lists served, distinct users they were served to, lists with at least
	// one attributed click, and with at least one attributed purchase.
	Lists, Users, Clicked, Converted int64
	// Anonymous is how many lists had no user, whether counted in Lists
	// (IncludeAnonymous) or not.
	Anonymous int64
}
