package api

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/serving"
)

// SearchResponse is hybrid search's answer.
type SearchResponse struct {
	Query   string `json:"query"`
	Results []Hit  `json:"results"`
	// Total is how many products match (the query words and filters, or
	// a vector similarity above the floor), not how many are shown.
	Total  int            `json:"total"`
	Facets records.Facets `json:"facets"`
	// ImpressionID names this list in the impression log; events may send
	// it back for exact attribution. Empty when the log is off or full.
	ImpressionID string `json:"impression_id,omitempty"`
	// Variant is the A/B variant that served the list, when an experiment
	// runs.
	Variant string `json:"variant,omitempty"`
}

// search is GET /v1/search: q, k, filters, user_id and the two fusion
// weights.
func (s *Server) search(c echo.Context) error {
	req, err := searchParams(c)
	if err != nil {
		return err
	}
	res, err := s.svc.Search(c.Request().Context(), req)
	if err != nil {
		return renameField(err, "query", "q")
	}
	resp := SearchResponse{Query: res.Query, Results: hitViews(res.Hits), Total: res.Total, Facets: res.Facets, Variant: res.Variant}
	resp.ImpressionID = s.served(records.SurfaceSearch, req.UserID, res.Assignment, resp.Results)
	return c.JSON(http.StatusOK, resp)
}

func searchParams(c echo.Context) (serving.SearchRequest, error) {
	var req serving.SearchRequest
	q := strings.TrimSpace(c.QueryParam("q"))
	if q == "" {
		return req, fieldProblem("q", "is required")
	}
	if len(q) > serving.MaxQueryLength {
		return req, fieldProblem("q", fmt.Sprintf("longer than %d bytes", serving.MaxQueryLength))
	}
	req.Query = q
	var err error
	if req.K, err = intParam(c, "k", serving.DefaultK, 1, records.MaxK); err != nil {
		return req, err
	}
	if req.Filter, err = filterParams(c); err != nil {
		return req, err
	}
	if req.UserID, err = userParam(c); err != nil {
		return req, err
	}
	if req.LexicalWeight, err = floatParam(c, "lexical_weight", maxWeight); err != nil {
		return req, err
	}
	if req.VectorWeight, err = floatParam(c, "vector_weight", maxWeight); err != nil {
		return req, err
	}
	return req, nil
}

// suggest is GET /v1/suggest: search-as-you-type completions.
func (s *Server) suggest(c echo.Context) error {
	q := strings.TrimSpace(c.QueryParam("q"))
	if q == "" {
		return fieldProblem("q", "is required")
	}
	if len(q) > serving.MaxSuggestPrefix {
		return fieldProblem("q", fmt.Sprintf("longer than %d bytes", serving.MaxSuggestPrefix))
	}
	k, err := intParam(c, "k", 8, 1, 50)
	if err != nil {
		return err
	}
	uid, err := userParam(c)
	if err != nil {
		return err
	}
	sug, err := s.svc.Suggest(c.Request().Context(), serving.SuggestRequest{Prefix: q, K: k, UserID: uid})
	if err != nil {
		return renameField(err, "query", "q")
	}
	return c.JSON(http.StatusOK, map[string]any{"query": q, "suggestions": sug})
}
