package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/serving"
)

// recommendations is GET /v1/users/{id}/recommendations.
func (s *Server) recommendations(c echo.Context) error {
	k, err := intParam(c, "k", serving.DefaultK, 1, records.MaxK)
	if err != nil {
		return err
	}
	uid, err := userID("id", c.Param("id"))
	if err != nil {
		return err
	}
	rr, err := rerankParams(c)
	if err != nil {
		return err
	}
	res, err := s.svc.Recommend(c.Request().Context(), serving.RecommendRequest{UserID: uid, K: k, Rerank: rr})
	if err != nil {
		return err
	}
	hits := hitViews(res.Hits)
	resp := map[string]any{"user_id": uid, "strategy": res.Strategy, "results": hits}
	if res.BrandExposureGini != nil {
		resp["brand_exposure_gini"] = *res.BrandExposureGini
	}
	if res.Strategy == serving.StrategyHybrid {
		resp["cf_model"] = res.CFModel
	}
	s.servedInto(resp, records.SurfaceRecommendations, uid, res.Assignment, hits)
	return c.JSON(http.StatusOK, resp)
}
