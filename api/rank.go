package api

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/serving"
	"github.com/vitrinehq/vitrine/validate"
)

type rankRequest struct {
	UserID       string          `json:"user_id"`
	UserVector   []float32       `json:"user_vector"`
	Query        string          `json:"query"`
	CandidateIDs []string        `json:"candidate_ids"`
	Filter       *catalog.Filter `json:"filter"`
	K            *int            `json:"k"`
	Explain      bool            `json:"explain"`
}

// RankResponse is the ranking endpoint's answer.
type RankResponse struct {
	Space        int      `json:"space"`
	Results      []Hit    `json:"results"`
	Missing      []string `json:"missing,omitempty"`
	ImpressionID string   `json:"impression_id,omitempty"`
	Variant      string   `json:"variant,omitempty"`
}

// rank is POST /v1/rank.
func (s *Server) rank(c echo.Context) error {
	var body rankRequest
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	req := serving.RankRequest{UserID: body.UserID, UserVector: body.UserVector, Query: body.Query,
		CandidateIDs: body.CandidateIDs, K: serving.DefaultK, Explain: body.Explain}
	if body.K != nil {
		req.K = *body.K
		if req.K == 0 {
			return fieldProblem("k", fmt.Sprintf("must be from 1 to %d", records.MaxK))
		}
	}
	if body.Filter != nil {
		req.Filter = *body.Filter
	}
	if err := checkRank(body); err != nil {
		return err
	}
	res, err := s.svc.Rank(c.Request().Context(), req)
	if err != nil {
		return err
	}
	resp := RankResponse{Space: res.Space, Results: hitViews(res.Hits), Missing: res.Missing, Variant: res.Variant}
	resp.ImpressionID = s.served(records.SurfaceRank, req.UserID, res.Assignment, resp.Results)
	return c.JSON(http.StatusOK, resp)
}

// maxVectorComponent bounds a user_vector's components: vectors are
// compared by cosine, so larger values only risk overflow.
const maxVectorComponent = 1e6

// checkRank is the boundary check of a rank request's strings, vector and
// filter (422 naming the field).
func checkRank(body rankRequest) error {
	if _, err := userID("user_id", body.UserID); err != nil {
		return err
	}
	if err := validate.TextMax(body.Query, serving.MaxQueryLength); err != nil {
		return fieldProblem("query", err.Error())
	}
	for i, id := range body.CandidateIDs {
		if _, err := userID(fmt.Sprintf("candidate_ids[%d]", i), id); err != nil {
			return err
		}
	}
	for i, x := range body.UserVector {
		if err := validate.Number(float64(x), -maxVectorComponent, maxVectorComponent); err != nil {
			return fieldProblem(fmt.Sprintf("user_vector[%d]", i), err.Error())
		}
	}
	if body.Filter != nil {
		return filterProblem(prefixFields(body.Filter.Validate(), "filter."), "filter.attributes.", "filter.brands")
	}
	return nil
}
