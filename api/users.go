package api

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/vitrinehq/vitrine/records"
)

// deleteUser is DELETE /v1/users/{id}: it erases the user and drops their
// impressions still waiting in this server's buffer; a user known only
// from such impressions is erased too (204, not 404).
func (s *Server) deleteUser(c echo.Context) error {
	uid := c.Param("id")
	erase := func() error { return s.svc.ForgetUser(c.Request().Context(), uid) }
	if s.imps == nil {
		if err := erase(); err != nil {
			return err
		}
		return c.NoContent(http.StatusNoContent)
	}
	dropped, err := s.imps.forget(uid, erase)
	if err != nil && !(errors.Is(err, records.ErrNotFound) && dropped > 0) {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
