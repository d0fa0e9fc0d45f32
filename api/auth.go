package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/vitrinehq/vitrine/records"
)

const ctxKey = "vitrine.api_key"

// authenticate requires a live key with the scope, from
// "Authorization: Bearer <token>" or "X-API-Key: <token>".
func (s *Server) authenticate(scope records.Scope) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if !s.auth {
				return next(c)
			}
			token := c.Request().Header.Get("X-API-Key")
			if h := c.Request().Header.Get(echo.HeaderAuthorization); token == "" && h != "" {
				token, _ = strings.CutPrefix(h, "Bearer ")
			}
			if token == "" {
				c.Response().Header().Set("WWW-Authenticate", `Bearer realm="vitrine"`)
				return problem(http.StatusUnauthorized, "API key required", "send Authorization: Bearer <key> or X-API-Key")
			}
			failures := s.limiter("authfail:"+c.RealIP(), s.cfg.AuthFailures, s.cfg.AuthFailureBurst)
			if failures.Tokens() < 1 {
				c.Response().Header().Set("Retry-After", "1")
				return problem(http.StatusTooManyRequests, "too many failed key checks", "wait before trying another key")
			}
			k, err := s.deps.Store.AuthenticateAPIKey(c.Request().Context(), token)
			switch {
			case errors.Is(err, records.ErrRevoked):
				failures.Allow()
				return problem(http.StatusUnauthorized, "API key revoked", "key "+k.ID+" was revoked")
			case errors.Is(err, records.ErrNotFound):
				failures.Allow()
				return problem(http.StatusUnauthorized, "invalid API key", "no such key")
			case err != nil:
				return err
			}
			if !k.Allows(scope) {
				return problem(http.StatusForbidden, "insufficient scope", "this endpoint needs the "+string(scope)+" scope")
			}
			c.Set(ctxKey, k)
			return next(c)
		}
	}
}
