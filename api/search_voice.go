package api

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/vitrinehq/vitrine/extractors/audioprep"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/serving"
)

// MaxVoiceBytes bounds a spoken query's WAV file (30 s of 48 kHz stereo
// 16-bit is 5.8 MB); the recogniser bounds its duration.
const MaxVoiceBytes = 8 << 20

// VoiceResponse is search by voice's answer: what was heard, and hybrid
// search's answer for it.
type VoiceResponse struct {
	// Transcript is what was heard ("" when nothing was: no results).
	Transcript string `json:"transcript"`
	// Confidence is the transcript's posterior probability, in [0, 1].
	Confidence float64 `json:"confidence"`
	// Query is the transcript as searched; Results, Total and Facets are
	// hybrid search's for it.
	Query   string         `json:"query"`
	Results []Hit          `json:"results"`
	Total   int            `json:"total"`
	Facets  records.Facets `json:"facets"`
	// ImpressionID and Variant are as in SearchResponse.
	ImpressionID string `json:"impression_id,omitempty"`
	Variant      string `json:"variant,omitempty"`
}

// wavTypes are the Content-Types of a raw WAV body.
var wavTypes = map[string]bool{"audio/wav": true, "audio/x-wav": true, "audio/wave": true, "audio/vnd.wave": true}

// searchVoice is POST /v1/search/voice: a spoken query as a WAV file, in
// the multipart field "audio" or as the raw body (Content-Type
// audio/wav); k, user_id and the filters as query parameters (or form
// fields for k and user_id).
func (s *Server) searchVoice(c echo.Context) error {
	if s.deps.Transcriber == nil {
		return problem(http.StatusNotImplemented, "no speech model", "configure voice.enabled to search by voice")
	}
	v, err := serving.NewVoice(s.svc, s.deps.Transcriber)
	if err != nil {
		return err
	}
	release, err := s.uploadSlot(c.Request().Context())
	if err != nil {
		return err
	}
	defer release()
	req, err := voiceParams(c)
	if err != nil {
		return err
	}
	res, err := v.SearchVoice(c.Request().Context(), req)
	if err != nil {
		return audioProblem(err)
	}
	resp := VoiceResponse{Transcript: res.Transcript, Confidence: res.Confidence, Query: res.Query,
		Results: hitViews(res.Hits), Total: res.Total, Facets: res.Facets, Variant: res.Variant}
	if res.Transcript != "" {
		resp.ImpressionID = s.served(records.SurfaceSearch, req.UserID, res.Assignment, resp.Results)
	}
	return c.JSON(http.StatusOK, resp)
}

// audioProblem names the field "audio" for audio the recogniser cannot
// read.
func audioProblem(err error) error {
	for _, e := range []error{audioprep.ErrEmpty, audioprep.ErrUnsupportedFormat, audioprep.ErrCorrupt, audioprep.ErrTooLong} {
		if errors.Is(err, e) {
			return fieldProblem("audio", strings.TrimPrefix(err.Error(), "speech: "))
		}
	}
	return err
}

// voiceParams reads the WAV file, k, user_id and the filters.
func voiceParams(c echo.Context) (serving.VoiceRequest, error) {
	var req serving.VoiceRequest
	var err error
	ct, _, _ := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	switch {
	case ct == echo.MIMEMultipartForm:
		req.Audio, err = voiceUpload(c)
	case wavTypes[ct]:
		req.Audio, err = readLimited(c.Request().Body)
	default:
		err = fieldProblem("audio", "upload a WAV file in the multipart field \"audio\" or as the body with Content-Type audio/wav")
	}
	if err != nil {
		return req, err
	}
	k := c.QueryParam("k")
	if k == "" && ct == echo.MIMEMultipartForm {
		k = c.FormValue("k")
	}
	if req.K, err = voiceK(k); err != nil {
		return req, err
	}
	uid := c.QueryParam("user_id")
	if uid == "" && ct == echo.MIMEMultipartForm {
		uid = c.FormValue("user_id")
	}
	if req.UserID, err = userID("user_id", uid); err != nil {
		return req, err
	}
	req.Filter, err = filterParams(c)
	return req, err
}

func voiceK(v string) (int, error) {
	if v == "" {
		return serving.DefaultK, nil
	}
	k, err := strconv.Atoi(v)
	if err != nil || k < 1 || k > records.MaxK {
		return 0, fieldProblem("k", fmt.Sprintf("must be an integer from 1 to %d", records.MaxK))
	}
	return k, nil
}

func voiceUpload(c echo.Context) ([]byte, error) {
	fh, err := c.FormFile("audio")
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return nil, err // a body too slow to arrive: 408
	}
	if err != nil {
		return nil, fieldProblem("audio", "upload a WAV file in the multipart field \"audio\"")
	}
	if fh.Size > MaxVoiceBytes {
		return nil, voiceTooLarge()
	}
	f, err := fh.Open()
	if err != nil {
		return nil, fieldProblem("audio", err.Error())
	}
	defer f.Close()
	return readLimited(f)
}

// readLimited reads at most MaxVoiceBytes (413 beyond).
func readLimited(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxVoiceBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxVoiceBytes {
		return nil, voiceTooLarge()
	}
	return b, nil
}

func voiceTooLarge() error {
	reason := fmt.Sprintf("larger than %d bytes", MaxVoiceBytes)
	return problem(http.StatusRequestEntityTooLarge, "audio too large", "audio: "+reason, FieldIssue{Field: "audio", Reason: reason})
}
