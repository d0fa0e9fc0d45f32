package api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/sync/semaphore"

	"github.com/vitrinehq/vitrine/extractors/imageprep"
	"github.com/vitrinehq/vitrine/models"
)

// uploadGuard screens photo uploads before they queue for a decoding
// slot, so that an upload the image model could never decode (a
// decompression bomb, a truncated or mislabelled file) is refused with a
// 422 at once and never holds a slot a normal photo search waits for.
// Reading and screening are bounded too: large bodies (over smallUpload,
// or of unknown length) are screened at most MaxUploads at a time, so a
// flood of bombs takes a core's share of the machine rather than all of
// it, and a burst of large uploads cannot take the memory of every body;
// small bodies (a phone photo's thumbnail, a normal search) have a lane of
// their own, bounded in bytes, so they never wait behind the large ones.
type uploadGuard struct {
	large   *semaphore.Weighted // one unit per large upload being screened or served
	small   *semaphore.Weighted // bytes of small uploads being screened or served
	inspect *imageprep.Preparer // nil: no image model, nothing to screen
}

// Small uploads: a body of at most smallUpload bytes is screened in the
// small lane, which holds smallBudget bytes at once.
const (
	smallUpload = 256 << 10
	smallBudget = 64 * smallUpload
)

// newUploadGuard screens with the image model's own checks.
func (s *Server) newUploadGuard() (*uploadGuard, error) {
	g := &uploadGuard{large: semaphore.NewWeighted(int64(s.cfg.MaxUploads)), small: semaphore.NewWeighted(smallBudget)}
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

// screenUpload is the middleware of POST /v1/search/image.
func (s *Server) screenUpload(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if s.guard == nil || !strings.HasPrefix(req.Header.Get(echo.HeaderContentType), echo.MIMEMultipartForm) {
			return next(c)
		}
		lane, weight := s.guard.large, int64(1)
		if req.ContentLength > 0 && req.ContentLength <= smallUpload {
			lane, weight = s.guard.small, req.ContentLength
		}
		if err := acquire(req.Context(), lane, weight, s.cfg.UploadQueue); err != nil {
			if req.Context().Err() != nil {
				return req.Context().Err()
			}
			return problem(http.StatusServiceUnavailable, "too many photo uploads", "retry shortly")
		}
		defer lane.Release(weight)
		if err := s.guard.check(c); err != nil {
			return err
		}
		return next(c)
	}
}

// acquire takes weight of a lane, waiting up to wait; what is free is
// taken at once even with no wait (Acquire would refuse an already
// expired context before looking).
func acquire(ctx context.Context, lane *semaphore.Weighted, weight int64, wait time.Duration) error {
	if lane.TryAcquire(weight) {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	return lane.Acquire(ctx, weight)
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
	if _, err = g.inspect.Inspect(data); err != nil {
		return err
	}
	// The handler takes the bytes screened here instead of reading the
	// part a second time.
	c.Set(screenedUpload, data)
	return nil
}

// screenedUpload is the echo context key of an upload's screened bytes.
const screenedUpload = "vitrine.screened_upload"

// screened returns the upload's bytes the guard already read, if it did.
func screened(c echo.Context) ([]byte, bool) {
	b, ok := c.Get(screenedUpload).([]byte)
	return b, ok
}
