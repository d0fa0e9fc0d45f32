package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/serving"
)

// trending is GET /v1/trending: the products rising fastest.
func (s *Server) trending(c echo.Context) error {
	k, uid, err := listParams(c)
	if err != nil {
		return err
	}
	res, err := s.svc.Trending(c.Request().Context(), serving.TrendingRequest{K: k, UserID: uid})
	if err != nil {
		return err
	}
	hits := hitViews(res.Hits)
	resp := map[string]any{"results": hits}
	s.servedInto(resp, records.SurfaceTrending, uid, res.Assignment, hits)
	return c.JSON(http.StatusOK, resp)
}
