package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/records"
)

type eventsRequest struct {
	Events []catalog.Event `json:"events"`
}

// EventResult is the outcome of one submitted event.
type EventResult struct {
	ClientEventID string `json:"client_event_id"`
	Status        string `json:"status"` // accepted, duplicate or rejected
	Error         string `json:"error,omitempty"`
}

// events is POST /v1/events: each event is validated, checked against
// the impression it names, recorded and learnt from.
func (s *Server) events(c echo.Context) error {
	var req eventsRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if len(req.Events) == 0 || len(req.Events) > maxBatch {
		return fieldProblem("events", fmt.Sprintf("send 1 to %d events", maxBatch))
	}
	out, valid, idx, issues := validateEvents(req.Events, time.Now())
	ctx := c.Request().Context()
	// Events naming an impression: it must exist and have been served to
	// the same user (or to an anonymous request).
	bad, err := s.checkImpressions(ctx, valid)
	if err != nil {
		return err
	}
	if len(bad) > 0 {
		var kept []catalog.Event
		var keptIdx []int
		for j, e := range valid {
			i := idx[j]
			if reason, ok := bad[j]; ok {
				out[i].Status, out[i].Error = "rejected", "impression_id: "+reason
				issues = append(issues, FieldIssue{fmt.Sprintf("events[%d].impression_id", i), reason})
				continue
			}
			kept, keptIdx = append(kept, e), append(keptIdx, i)
		}
		valid, idx = kept, keptIdx
	}
	if len(valid) == 0 {
		return problem(http.StatusUnprocessableEntity, "no valid events", "every event was rejected", issues...)
	}
	res, err := s.svc.AddEvents(ctx, valid)
	if err != nil {
		return err
	}
	for j, r := range res {
		i := idx[j]
		switch r.Status {
		case records.EventInserted:
			out[i].Status = "accepted"
		case records.EventDuplicate:
			out[i].Status = "duplicate"
		default:
			out[i].Status, out[i].Error = "rejected", storeReason(r.Err)
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"results": out})
}

// validateEvents checks each event (catalog.Event.Validate) against now: it
// returns every event's result so far, the valid events with their
// indexes in the request, and the problems of the rejected ones.
func validateEvents(evs []catalog.Event, now time.Time) (out []EventResult, valid []catalog.Event, idx []int, issues []FieldIssue) {
	out = make([]EventResult, len(evs))
	for i := range evs {
		e := &evs[i]
		out[i].ClientEventID = e.ClientEventID
		if err := e.Validate(now); err != nil {
			out[i].Status, out[i].Error = "rejected", err.Error()
			var fe *catalog.FieldError
			if errors.As(err, &fe) {
				issues = append(issues, FieldIssue{fmt.Sprintf("events[%d].%s", i, fe.Field), fe.Reason})
			}
			continue
		}
		valid, idx = append(valid, *e), append(idx, i)
	}
	return out, valid, idx, issues
}

// storeReason says why the store refused an event without passing on
// driver text: an unknown product is named, anything else is generic (and
// logged by the store).
func storeReason(err error) string {
	if errors.Is(err, records.ErrUnknownProduct) {
		return "product_id: unknown product"
	}
	return "could not be stored"
}
