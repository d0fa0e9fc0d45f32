package api

import (
	"context"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/serving"
)

type imageRequest struct {
	URL    string `json:"url"`
	K      *int   `json:"k"`
	UserID string `json:"user_id"`
}

// searchImage is POST /v1/search/image: a photo uploaded as the multipart
// field "image", or fetched from "url" (multipart or JSON).
func (s *Server) searchImage(c echo.Context) error {
	if !s.svc.HasImageModel() {
		return serving.ErrNoImageModel
	}
	release, err := s.uploadSlot(c.Request().Context())
	if err != nil {
		return err
	}
	defer release()
	req, err := s.imageParams(c)
	if err != nil {
		return err
	}
	if _, err := userID("user_id", req.UserID); err != nil {
		return err
	}
	if req.Filter, err = filterParams(c); err != nil {
		return err
	}
	res, err := s.svc.SearchPhoto(c.Request().Context(), req)
	if err != nil {
		return err
	}
	hits := hitViews(res.Hits)
	resp := map[string]any{"results": hits}
	s.servedInto(resp, records.SurfaceImageSearch, req.UserID, res.Assignment, hits)
	return c.JSON(http.StatusOK, resp)
}

// imageParams reads the photo's bytes, k and user_id.
func (s *Server) imageParams(c echo.Context) (serving.ImageSearchRequest, error) {
	ctx := c.Request().Context()
	req := serving.ImageSearchRequest{K: serving.DefaultK}
	var err error
	if !strings.HasPrefix(c.Request().Header.Get(echo.HeaderContentType), echo.MIMEMultipartForm) {
		var body imageRequest
		if err := decodeJSON(c, &body); err != nil {
			return req, err
		}
		if body.URL == "" {
			return req, fieldProblem("url", "is required (or upload multipart field \"image\")")
		}
		if body.K != nil {
			req.K = *body.K
		}
		req.UserID = body.UserID
		req.Image, err = s.fetchURL(ctx, body.URL)
		return req, checkImageK(req, err)
	}
	fh, ferr := c.FormFile("image")
	if errors.Is(ferr, os.ErrDeadlineExceeded) {
		return req, ferr // a body too slow to arrive: 408
	}
	if b, ok := screened(c); ok && ferr == nil {
		req.Image = b
	} else if ferr == nil {
		req.Image, err = readUpload(fh)
	} else if u := c.FormValue("url"); u != "" {
		req.Image, err = s.fetchURL(ctx, u)
	} else {
		err = fieldProblem("image", "upload a file in the multipart field \"image\" (or give \"url\")")
	}
	if err != nil {
		return req, err
	}
	if v := c.FormValue("k"); v != "" {
		if req.K, err = strconv.Atoi(v); err != nil {
			return req, fieldProblem("k", "must be an integer")
		}
	}
	req.UserID = c.FormValue("user_id")
	return req, checkImageK(req, nil)
}

func checkImageK(req serving.ImageSearchRequest, err error) error {
	if err == nil && (req.K < 1 || req.K > records.MaxK) {
		return fieldProblem("k", "must be from 1 to "+strconv.Itoa(records.MaxK))
	}
	return err
}

// readUpload reads an uploaded file the guard did not screen (no image
// model to screen with), in one allocation of its size.
func readUpload(fh *multipart.FileHeader) ([]byte, error) {
	f, err := fh.Open()
	if err != nil {
		return nil, fieldProblem("image", "could not be read")
	}
	defer f.Close()
	data := make([]byte, max(fh.Size, 0))
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, fieldProblem("image", "could not be read")
	}
	return data, nil
}

// fetchURL loads a photo URL through the SSRF guard. Every failure reads
// the same to the client (an internal address, a closed port, a 404, a
// timeout): nothing of what was or was not fetched goes back, so the
// endpoint cannot probe internal services. The cause is logged.
func (s *Server) fetchURL(ctx context.Context, u string) ([]byte, error) {
	pu, err := url.Parse(u)
	if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
		return nil, fieldProblem("url", "must be an http(s) URL")
	}
	b, err := s.fetch.Load(ctx, u)
	if err != nil {
		s.log.Info("photo URL not fetched", "err", err)
		return nil, fieldProblem("url", "could not be fetched (not reachable, not allowed, not found or too large)")
	}
	return b, nil
}

// uploadSlot waits up to UploadQueue for one of MaxUploads photo-search
// slots, so a burst of uploads (or of decompression bombs) queues instead
// of taking every core and the memory of every body at once; past the
// wait it is a 503 with Retry-After.
func (s *Server) uploadSlot(ctx context.Context) (func(), error) {
	release := func() { <-s.uploads }
	// A free slot is taken at once: with the timer also ready (a zero
	// UploadQueue) select would pick between them at random.
	select {
	case s.uploads <- struct{}{}:
		return release, nil
	default:
	}
	t := time.NewTimer(s.cfg.UploadQueue)
	defer t.Stop()
	select {
	case s.uploads <- struct{}{}:
		return release, nil
	case <-t.C:
		return nil, problem(http.StatusServiceUnavailable, "too many photo searches", "retry shortly")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
