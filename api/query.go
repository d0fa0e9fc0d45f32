package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/vitrinehq/vitrine/validate"
)

// knownQuery returns the query parameters of a route (by method and echo
// path) and the prefixes of its open-ended parameters; anything else is
// refused with a 400 listing these, so a misspelt filter ("colour",
// "brands") is not silently ignored. Routes missing here take none.
func knownQuery(method, path string) (known, prefixes []string) {
	filters := []string{"category", "brand", "min_price", "max_price"}
	switch method + " " + path {
	case "GET /v1/search":
		return append([]string{"q", "k", "user_id", "lexical_weight", "vector_weight"}, filters...), []string{"attr."}
	case "POST /v1/search/image":
		return filters, []string{"attr."}
	case "POST /v1/search/voice":
		return append([]string{"k", "user_id"}, filters...), []string{"attr."}
	case "GET /v1/suggest":
		return []string{"q", "k", "user_id"}, nil
	case "GET /v1/products/:id/similar":
		return []string{"k", "user_id"}, nil
	case "GET /v1/products/:id/together", "GET /v1/trending":
		return []string{"k", "user_id"}, nil
	case "GET /v1/users/:id/recommendations":
		return []string{"k", "mmr_lambda", "max_per_category", "max_per_brand", "max_brand_share"}, nil
	}
	return nil, nil
}

// checkInput is the boundary check of every /v1 request, before any
// handler runs: path parameters are clean text (valid UTF-8, no NUL), and
// every query parameter is known to the route and clean text. A bad value
// is a 422 naming the parameter; an unknown one a 400 listing the known.
func (s *Server) checkInput(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := checkPathParams(c); err != nil {
			return err
		}
		known, prefixes := knownQuery(c.Request().Method, c.Path())
		err := validate.Params(c.QueryParams(), known, prefixes...)
		var pe *validate.PathError
		switch {
		case err == nil:
			return next(c)
		case errors.As(err, &pe):
			return fieldProblem(pe.Path, pe.Err.Error())
		case errors.Is(err, validate.ErrUnknownParam):
			return problem(http.StatusBadRequest, "unknown query parameter", err.Error(),
				FieldIssue{Field: "query", Reason: "known parameters: " + strings.Join(append(known, prefixHelp(prefixes)...), ", ")})
		}
		return fmt.Errorf("query check: %w", err)
	}
}

// checkPathParams checks the path parameters and unescapes them where echo
// routed on the escaped path (it does so when the client's escaping differs
// from Go's, e.g. "%ff"), so handlers always see the decoded id.
func checkPathParams(c echo.Context) error {
	names, values := c.ParamNames(), slices.Clone(c.ParamValues())
	raw := c.Request().URL.RawPath != ""
	for i := range min(len(names), len(values)) {
		if raw {
			v, err := url.PathUnescape(values[i])
			if err != nil {
				return fieldProblem(names[i], "is not a valid escaped path segment")
			}
			values[i] = v
		}
		if err := validate.TextMax(values[i], maxPathParam); err != nil {
			return fieldProblem(names[i], err.Error())
		}
	}
	if raw {
		c.SetParamValues(values...)
	}
	return nil
}

// maxPathParam bounds a product or user id in a path (ids are at most
// catalog.MaxIDLength bytes; a longer one cannot exist, so it is refused
// here rather than looked up).
const maxPathParam = 1024

func prefixHelp(prefixes []string) []string {
	out := make([]string, len(prefixes))
	for i, p := range prefixes {
		out[i] = p + "NAME"
	}
	return out
}
