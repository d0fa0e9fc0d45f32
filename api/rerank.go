package api

import (
	"context"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/vitrinehq/vitrine/ranking"
	"github.com/vitrinehq/vitrine/recommend"
)

// rerankOpts are the shop's and the user's re-ranking wishes.
type rerankOpts struct {
	lambda        float64 // MMR: 1 keeps relevance order, lower diversifies
	maxPerCat     int     // at most this many per category (first two levels; 0: no cap)
	maxPerBrand   int     // at most this many per brand (0: no cap)
	maxBrandShare float64 // exposure share cap per brand, (0,1] (0: off)
}

// rerankParams reads mmr_lambda, max_per_category, max_per_brand and
// max_brand_share.
func rerankParams(c echo.Context, defLambda float64) (rerankOpts, error) {
	o := rerankOpts{lambda: defLambda}
	if v, err := floatParam(c, "mmr_lambda"); err != nil {
		return o, err
	} else if v != nil {
		if *v > 1 {
			return o, fieldProblem("mmr_lambda", "must be between 0 and 1")
		}
		o.lambda = *v
	}
	for name, dst := range map[string]*int{"max_per_category": &o.maxPerCat, "max_per_brand": &o.maxPerBrand} {
		if v := c.QueryParam(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return o, fieldProblem(name, "must be a positive integer")
			}
			*dst = n
		}
	}
	if v, err := floatParam(c, "max_brand_share"); err != nil {
		return o, err
	} else if v != nil {
		if *v <= 0 || *v > 1 {
			return o, fieldProblem("max_brand_share", "must be in (0, 1]")
		}
		o.maxBrandShare = *v
	}
	return o, nil
}

// rerank applies MMR diversity (cosine of fused product vectors), caps per
// category and brand, and exposure fairness across brands, then cuts to k.
// It returns the brand exposure Gini of the served list.
func (s *Server) rerank(ctx context.Context, space int, rs []ranking.Result, k int, o rerankOpts) ([]ranking.Result, float64, error) {
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.ProductID
	}
	ps, err := s.deps.Store.GetProducts(ctx, ids)
	if err != nil {
		return nil, 0, err
	}
	brand := func(id string) string { return ps[id].Brand }
	// Caps group by the first two levels of the category path ("Fruit >
	// Apple", "Packages > Milk"): the top level alone is too coarse to
	// diversify within a shop's department.
	category := func(id string) string {
		c := ps[id].Category
		return strings.Join(c[:min(2, len(c))], " > ")
	}
	if o.lambda < 1 {
		vecs, err := s.deps.Store.ProductVectors(ctx, space, ids)
		if err != nil {
			return nil, 0, err
		}
		rs = recommend.MMR(rs, len(rs), o.lambda, func(a, b string) float64 { return ranking.Cosine(vecs[a], vecs[b]) })
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
	for _, p := range ps {
		all[p.Brand] = true
	}
	brands := make([]string, 0, len(all))
	for b := range all {
		brands = append(brands, b)
	}
	return rs, recommend.GroupExposureGini([][]string{recommend.Groups(rs, brand)}, brands), nil
}
