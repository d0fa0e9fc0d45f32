package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/serving"
)

// together is GET /v1/products/{id}/together: frequently bought together.
func (s *Server) together(c echo.Context) error {
	k, uid, err := listParams(c)
	if err != nil {
		return err
	}
	res, err := s.svc.Together(c.Request().Context(), serving.TogetherRequest{ProductID: c.Param("id"), K: k, UserID: uid})
	if err != nil {
		return err
	}
	hits := hitViews(res.Hits)
	resp := map[string]any{"id": res.ProductID, "results": hits}
	if res.CFModel != 0 {
		resp["cf_model"] = res.CFModel
	}
	s.servedInto(resp, records.SurfaceTogether, uid, res.Assignment, hits)
	return c.JSON(http.StatusOK, resp)
}
