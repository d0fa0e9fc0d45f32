package serving

import (
	"maps"
	"slices"
	"strings"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/ranking"
	"github.com/vitrinehq/vitrine/recommend"
	"github.com/vitrinehq/vitrine/vecmath"
)

// rerankOpts are a request's resolved re-ranking wishes.
type rerankOpts struct {
	lambda        float64
	maxPerCat     int
	maxPerBrand   int
	maxBrandShare float64
}

// rerankOptions checks a request's wishes and fills the default lambda.
func rerankOptions(r Rerank, defLambda float64) (rerankOpts, error) {
	o := rerankOpts{lambda: defLambda, maxPerCat: r.MaxPerCategory, maxPerBrand: r.MaxPerBrand, maxBrandShare: r.MaxBrandShare}
	if r.MMRLambda != nil {
		if !(*r.MMRLambda >= 0 && *r.MMRLambda <= 1) {
			return o, fieldError("mmr_lambda", "must be between 0 and 1")
		}
		o.lambda = *r.MMRLambda
	}
	switch {
	case r.MaxPerCategory < 0:
		return o, fieldError("max_per_category", "must be a positive integer")
	case r.MaxPerBrand < 0:
		return o, fieldError("max_per_brand", "must be a positive integer")
	case !(r.MaxBrandShare >= 0 && r.MaxBrandShare <= 1):
		return o, fieldError("max_brand_share", "must be in (0, 1]")
	}
	return o, nil
}

// rerank applies MMR diversity (cosine of fused product vectors), caps per
// category and brand, and exposure fairness across brands, then cuts to k.
// It returns the brand exposure Gini of the served list. ps and vecs are
// the candidates' products and vectors, read once for the whole request. A
// candidate with no vector (or a product deleted since retrieval) is never
// an error: it takes no diversity penalty and belongs to no brand or
// category.
func rerank(rs []ranking.Result, k int, o rerankOpts, ps map[string]catalog.Product, vecs map[string][]float32) ([]ranking.Result, float64) {
	ids := resultIDs(rs)
	brand := func(id string) string { return ps[id].Brand }
	// Caps group by the first two levels of the category path ("Fruit >
	// Apple", "Packages > Milk"): the top level alone is too coarse to
	// diversify within a shop's department.
	category := func(id string) string {
		c := ps[id].Category
		return strings.Join(c[:min(2, len(c))], " > ")
	}
	if o.lambda < 1 {
		rs = recommend.MMR(rs, len(rs), o.lambda, func(a, b string) float64 { return similarity(vecs[a], vecs[b]) })
	}
	if o.maxPerCat > 0 {
		rs = recommend.CapPerGroup(rs, len(rs), category, o.maxPerCat)
	}
	if o.maxPerBrand > 0 {
		rs = recommend.CapPerGroup(rs, len(rs), brand, o.maxPerBrand)
	}
	if o.maxBrandShare > 0 {
		rs = recommend.FairExposure(rs, k, brand, o.maxBrandShare)
	}
	if len(rs) > k {
		rs = rs[:k]
	}
	all := map[string]bool{}
	for _, id := range ids {
		if p, ok := ps[id]; ok {
			all[p.Brand] = true
		}
	}
	return rs, recommend.GroupExposureGini([][]string{recommend.Groups(rs, brand)}, slices.Sorted(maps.Keys(all)))
}

// similarity is the cosine of two product vectors for MMR; 0 (no
// diversity penalty) when either is missing or they differ in length.
func similarity(a, b []float32) float64 {
	c, err := vecmath.Cosine(a, b)
	if err != nil {
		return 0
	}
	return c
}
