package api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/sync/semaphore"

	"github.com/vitrinehq/vitrine/extractors/imageprep"
	"github.com/vitrinehq/vitrine/models"
)

// uploadGuard screens photo uploads before they queue for a decoding
// slot: the bodies being read at once are bounded in bytes (so a burst of
// large uploads cannot take the memory of every body), and an upload the
// image model could never decode (a decompression bomb, a truncated or
// mislabelled file) is refused with a 422 at once, so it never holds a
// slot a normal photo search waits for.
type uploadGuard struct {
	bytes   *semaphore.Weighted
	budget  int64
	maxBody int64
	inspect *imageprep.Preparer // nil: no image model, nothing to screen
}

// newUploadGuard sizes the byte budget at twice the decoding slots' worth
// of the largest body, and screens with the image model's own checks.
func (s *Server) newUploadGuard() (*uploadGuard, error) {
	maxBody, ok := parseSize(s.cfg.BodyLimit)
	if !ok {
		maxBody = 12 << 20
	}
	g := &uploadGuard{budget: 2 * int64(s.cfg.MaxUploads) * maxBody, maxBody: maxBody}
	g.bytes = semaphore.NewWeighted(g.budget)
	if s.deps.Encoders == nil {
		return g, nil
	}
	if e, ok := s.deps.Encoders.ByModality(models.Image); ok && e.Manifest().Preprocess.Image != nil {
		var err error
		if g.inspect, err = imageprep.New(*e.Manifest().Preprocess.Image); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// parseSize reads a body limit as echo writes it: a number of bytes with
// an optional K, M or G (powers of 1024), e.g. "12M".
func parseSize(v string) (int64, bool) {
	v = strings.TrimSuffix(strings.TrimSuffix(strings.ToUpper(strings.TrimSpace(v)), "B"), "I")
	mult := int64(1)
	if n := len(v); n > 0 {
		switch v[n-1] {
		case 'K':
			mult, v = 1<<10, v[:n-1]
		case 'M':
			mult, v = 1<<20, v[:n-1]
		case 'G':
			mult, v = 1<<30, v[:n-1]
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0, false
	}
	return n * mult, true
}

// screenUpload is the middleware of POST /v1/search/image.
func (s *Server) screenUpload(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if s.guard == nil || !strings.HasPrefix(req.Header.Get(echo.HeaderContentType), echo.MIMEMultipartForm) {
			return next(c)
		}
		weight := s.guard.maxBody
		if req.ContentLength > 0 {
			weight = min(req.ContentLength, weight)
		}
		weight = min(weight, s.guard.budget)
		if err := s.guard.acquire(req.Context(), weight, s.cfg.UploadQueue); err != nil {
			if req.Context().Err() != nil {
				return req.Context().Err()
			}
			return problem(http.StatusServiceUnavailable, "too many photo uploads", "retry shortly")
		}
		defer s.guard.bytes.Release(weight)
		if err := s.guard.check(c); err != nil {
			return err
		}
		return next(c)
	}
}

// acquire takes weight bytes of the budget, waiting up to wait; free
// budget is taken at once even with no wait (Acquire would refuse an
// already expired context before looking).
func (g *uploadGuard) acquire(ctx context.Context, weight int64, wait time.Duration) error {
	if g.bytes.TryAcquire(weight) {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	return g.bytes.Acquire(ctx, weight)
}

// check refuses an uploaded image the model could not decode; anything
// else (no file, a URL instead) is left to the handler.
func (g *uploadGuard) check(c echo.Context) error {
	fh, err := c.FormFile("image")
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return err // a body too slow to arrive: 408
	}
	if err != nil || g.inspect == nil {
		return nil
	}
	f, err := fh.Open()
	if err != nil {
		return nil
	}
	defer f.Close()
	// One allocation of the part's size (ReadAll would grow by doubling:
	// twice the garbage for every upload, bombs included).
	data := make([]byte, max(fh.Size, 0))
	if _, err := io.ReadFull(f, data); err != nil {
		return nil
	}
	_, err = g.inspect.Inspect(data)
	return err
}
