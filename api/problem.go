package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/extractors/audioprep"
	"github.com/vitrinehq/vitrine/extractors/imageprep"
	"github.com/vitrinehq/vitrine/extractors/onnx"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/serving"
)

// Problem is an RFC 9457 problem+json body; Errors name the fields.
type Problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail,omitempty"`
	Errors []FieldIssue `json:"errors,omitempty"`
}

// FieldIssue is one bad field.
type FieldIssue struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// problemError is returned by handlers and rendered by errorHandler.
type problemError struct{ p Problem }

func (e *problemError) Error() string { return e.p.Title + ": " + e.p.Detail }

func problem(status int, title, detail string, issues ...FieldIssue) error {
	return &problemError{Problem{Type: "about:blank", Title: title, Status: status, Detail: detail, Errors: issues}}
}

// fieldProblem is a 422 naming one field.
func fieldProblem(field, reason string) error {
	return problem(http.StatusUnprocessableEntity, "invalid field", field+": "+reason, FieldIssue{Field: field, Reason: reason})
}

// errorHandler turns every error into problem+json: typed errors from the
// layers below become 4xx naming the field; anything unexpected is a 500
// with no internals (logged with the request id).
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	p := s.toProblem(err, c)
	if p.Status == http.StatusServiceUnavailable {
		c.Response().Header().Set("Retry-After", "1")
	}
	b, _ := json.Marshal(p)
	c.Response().Header().Set(echo.HeaderContentType, "application/problem+json")
	c.Response().WriteHeader(p.Status)
	_, _ = c.Response().Write(b)
}

// problemKey holds, on a request's context, the problem its error became:
// the metrics middleware and the error handler both need it, and the
// classification (which may ping the database and logs what is unexpected)
// must run, and log, once per request.
const problemKey = "vitrine.problem"

// toProblem classifies a request's error once; later calls for the same
// request return that first answer.
func (s *Server) toProblem(err error, c echo.Context) Problem {
	if p, ok := c.Get(problemKey).(Problem); ok {
		return p
	}
	p := s.classify(err, c)
	c.Set(problemKey, p)
	return p
}

func (s *Server) classify(err error, c echo.Context) Problem {
	var pe *problemError
	var he *echo.HTTPError
	var fe *catalog.FieldError
	var de *records.DimensionError
	var sf *serving.FieldError
	switch {
	case errors.As(err, &pe):
		return pe.p
	case errors.As(err, &sf):
		return Problem{Type: "about:blank", Title: "invalid field", Status: http.StatusUnprocessableEntity, Detail: sf.Error(), Errors: []FieldIssue{{sf.Field, sf.Reason}}}
	case errors.Is(err, serving.ErrNoUserVector):
		return Problem{Type: "about:blank", Title: "no user vector", Status: http.StatusNotFound, Detail: err.Error()}
	case errors.Is(err, serving.ErrNotIndexed):
		return Problem{Type: "about:blank", Title: "not indexed", Status: http.StatusNotFound, Detail: err.Error()}
	case errors.Is(err, serving.ErrNoImageModel):
		return Problem{Type: "about:blank", Title: "no image model", Status: http.StatusNotImplemented, Detail: "configure models.image to search by photo"}
	case errors.Is(err, serving.ErrNoSpeechModel):
		return Problem{Type: "about:blank", Title: "no speech model", Status: http.StatusNotImplemented, Detail: "configure voice.enabled to search by voice"}
	case errors.As(err, &he):
		msg := fmt.Sprint(he.Message)
		if he.Code == http.StatusRequestEntityTooLarge {
			msg = "request body larger than " + s.cfg.BodyLimit
		}
		return Problem{Type: "about:blank", Title: http.StatusText(he.Code), Status: he.Code, Detail: msg}
	case errors.As(err, &fe):
		return Problem{Type: "about:blank", Title: "invalid field", Status: http.StatusUnprocessableEntity, Detail: fe.Error(), Errors: []FieldIssue{{fe.Field, fe.Reason}}}
	case errors.As(err, &de):
		return Problem{Type: "about:blank", Title: "wrong vector dimension", Status: http.StatusUnprocessableEntity, Detail: de.Error()}
	case errors.Is(err, records.ErrNotFound), errors.Is(err, records.ErrUnknownProduct):
		return Problem{Type: "about:blank", Title: "not found", Status: http.StatusNotFound, Detail: err.Error()}
	case errors.Is(err, records.ErrNoActiveSpace):
		return Problem{Type: "about:blank", Title: "no vector space", Status: http.StatusServiceUnavailable, Detail: "nothing is ingested yet: run `vitrine ingest`"}
	case errors.Is(err, onnx.ErrOverloaded):
		return Problem{Type: "about:blank", Title: "overloaded", Status: http.StatusServiceUnavailable, Detail: "the model queue is full; retry shortly"}
	case errors.Is(err, catalog.ErrInvalid), errors.Is(err, extractors.ErrEmptyInput):
		return Problem{Type: "about:blank", Title: "invalid input", Status: http.StatusUnprocessableEntity, Detail: err.Error()}
	case errors.Is(err, imageprep.ErrEmpty), errors.Is(err, imageprep.ErrUnsupportedFormat), errors.Is(err, imageprep.ErrCorrupt), errors.Is(err, imageprep.ErrTooLarge):
		return Problem{Type: "about:blank", Title: "unusable image", Status: http.StatusUnprocessableEntity, Detail: err.Error(), Errors: []FieldIssue{{"image", err.Error()}}}
	case errors.Is(err, audioprep.ErrEmpty), errors.Is(err, audioprep.ErrUnsupportedFormat), errors.Is(err, audioprep.ErrCorrupt), errors.Is(err, audioprep.ErrTooLong):
		return Problem{Type: "about:blank", Title: "unusable audio", Status: http.StatusUnprocessableEntity, Detail: err.Error()}
	case errors.Is(err, os.ErrDeadlineExceeded):
		return Problem{Type: "about:blank", Title: "request timeout", Status: http.StatusRequestTimeout, Detail: "the request body did not arrive in time"}
	case errors.Is(err, c.Request().Context().Err()) && c.Request().Context().Err() != nil:
		return Problem{Type: "about:blank", Title: "request cancelled", Status: 499}
	}
	if !s.databaseUp(c.Request().Context()) {
		s.log.Warn("database unavailable", "err", err, "path", c.Path(), "request_id", c.Response().Header().Get(echo.HeaderXRequestID))
		return Problem{Type: "about:blank", Title: "database unavailable", Status: http.StatusServiceUnavailable, Detail: "retry shortly"}
	}
	s.log.Error("internal error", "err", err, "path", c.Path(), "request_id", c.Response().Header().Get(echo.HeaderXRequestID))
	return Problem{Type: "about:blank", Title: "internal error", Status: http.StatusInternalServerError,
		Detail: "request " + c.Response().Header().Get(echo.HeaderXRequestID) + " failed; see the server log"}
}

// databaseUp pings the database after an unexpected error: a failure it
// explains is an outage (503 with Retry-After), not a server bug (500).
func (s *Server) databaseUp(ctx context.Context) bool {
	if s.deps.Store == nil {
		return true
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	return s.deps.Store.Ping(ctx) == nil
}

// renameField renames a use case's field in its FieldError to the name the
// HTTP request gives it (search's "query" is the parameter "q").
func renameField(err error, from, to string) error {
	var fe *serving.FieldError
	if errors.As(err, &fe) && fe.Field == from {
		return &serving.FieldError{Field: to, Reason: fe.Reason}
	}
	return err
}

// decodeJSON reads a JSON body strictly: unknown fields, wrong types and
// trailing data are 400s naming the field.
func decodeJSON(c echo.Context, v any) error {
	ct := c.Request().Header.Get(echo.HeaderContentType)
	if ct != "" && !strings.HasPrefix(ct, echo.MIMEApplicationJSON) {
		return problem(http.StatusUnsupportedMediaType, "unsupported media type", "send application/json")
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return err // body limit or a broken connection: handled by errorHandler
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonProblem(err)
	}
	if dec.More() {
		return problem(http.StatusBadRequest, "malformed JSON", "trailing data after the JSON value")
	}
	return nil
}

func jsonProblem(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		want := jsonKind(te.Type)
		return problem(http.StatusBadRequest, "wrong type", fmt.Sprintf("%s must be %s, got %s", te.Field, want, te.Value), FieldIssue{te.Field, fmt.Sprintf("must be %s, got %s", want, te.Value)})
	case errors.As(err, &se):
		return problem(http.StatusBadRequest, "malformed JSON", fmt.Sprintf("at byte %d: %v", se.Offset, se))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return problem(http.StatusBadRequest, "unknown field", "unknown field "+f, FieldIssue{f, "unknown field"})
	case errors.Is(err, io.EOF):
		return problem(http.StatusBadRequest, "malformed JSON", "empty body")
	}
	var tpe *time.ParseError
	if errors.As(err, &tpe) {
		return problem(http.StatusBadRequest, "malformed timestamp", "timestamps are RFC 3339, e.g. 2026-01-02T15:04:05Z")
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return echo.ErrStatusRequestEntityTooLarge
	}
	return problem(http.StatusBadRequest, "malformed JSON", "the body is not a valid JSON document of this endpoint's shape")
}

// jsonKind names a Go type the way a JSON client knows it ("a string",
// "an array"), never as a Go type name.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		if t.String() == "time.Time" {
			return "an RFC 3339 timestamp"
		}
		return "an object"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "a value"
}
