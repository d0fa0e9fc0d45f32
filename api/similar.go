package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/serving"
)

// similar is GET /v1/products/{id}/similar.
func (s *Server) similar(c echo.Context) error {
	k, uid, err := listParams(c)
	if err != nil {
		return err
	}
	res, err := s.svc.Similar(c.Request().Context(), serving.SimilarRequest{ProductID: c.Param("id"), K: k, UserID: uid})
	if err != nil {
		return err
	}
	hits := hitViews(res.Hits)
	resp := map[string]any{"id": res.ProductID, "results": hits}
	s.servedInto(resp, records.SurfaceSimilar, uid, res.Assignment, hits)
	return c.JSON(http.StatusOK, resp)
}
