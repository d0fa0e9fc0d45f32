package web

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/vitrinehq/vitrine/catalog"
)

// errOutside marks a media path that leaves the allowed root.
var errOutside = errors.New("outside the media root")

// media serves the n-th image of a live product. Catalog images are local
// paths the server read at ingestion; a browser cannot read them, so they
// are served from here, but only from under the media root, and only if
// the file really is an image: a catalog row must not turn the server
// into a file reader. http(s) images are left to the browser (a redirect).
func (h *handlers) media(c echo.Context) error {
	n, err := strconv.Atoi(c.Param("n"))
	if err != nil || n < 0 {
		return echo.NewHTTPError(http.StatusNotFound, "image index must be a non-negative integer")
	}
	ctx := c.Request().Context()
	p, err := h.d.Store.GetProduct(ctx, c.Param("id"))
	if err != nil {
		return err // not found (or deleted) becomes 404 in the API's error handler
	}
	var images []string
	for _, m := range p.Media {
		if m.Kind == catalog.MediaImage {
			images = append(images, m.URI)
		}
	}
	if n >= len(images) {
		return echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("product %q has %d images", p.ID, len(images)))
	}
	uri := images[n]
	if strings.HasPrefix(uri, "http://") || strings.HasPrefix(uri, "https://") {
		return h.remote(c, p.ID, uri)
	}
	root, err := h.mediaRoot()
	if err != nil {
		return err
	}
	path, err := localPath(uri)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound, err.Error())
	}
	f, err := openUnder(root, path)
	if err != nil {
		if errors.Is(err, errOutside) {
			h.d.Logger.Warn("media path outside the media root refused", "product", p.ID, "uri", uri, "root", root)
			return echo.NewHTTPError(http.StatusForbidden, "this image is outside the server's media root")
		}
		return echo.NewHTTPError(http.StatusNotFound, "image file not found")
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return echo.NewHTTPError(http.StatusNotFound, "image file not found")
	}
	head := make([]byte, 512)
	k, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return echo.NewHTTPError(http.StatusNotFound, "image file unreadable")
	}
	ctype := http.DetectContentType(head[:k])
	if !strings.HasPrefix(ctype, "image/") {
		return echo.NewHTTPError(http.StatusForbidden, "not an image file")
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("media %s: %w", p.ID, err)
	}
	hd := c.Response().Header()
	hd.Set(echo.HeaderContentType, ctype)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "private, max-age=300")
	http.ServeContent(c.Response(), c.Request(), st.Name(), st.ModTime(), f)
	return nil
}

// remote serves a product image given as an http(s) URL by fetching it
// (through Deps.Fetch, which refuses internal addresses) and passing on
// its bytes only if they are an image: /media never redirects, so a
// planted URL cannot turn it into an open redirect or a proxy for other
// content.
func (h *handlers) remote(c echo.Context, id, uri string) error {
	if h.d.Fetch == nil {
		return echo.NewHTTPError(http.StatusNotFound, "remote images are not served here")
	}
	b, err := h.d.Fetch.Load(c.Request().Context(), uri)
	if err != nil {
		h.d.Logger.Info("remote product image not fetched", "product", id, "err", err)
		return echo.NewHTTPError(http.StatusNotFound, "image unavailable")
	}
	ctype := http.DetectContentType(b)
	if !strings.HasPrefix(ctype, "image/") {
		return echo.NewHTTPError(http.StatusNotFound, "image unavailable")
	}
	hd := c.Response().Header()
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "private, max-age=300")
	return c.Blob(http.StatusOK, ctype, b)
}

// mediaRoot is the allowed tree with symlinks resolved, so that paths can be
// compared with fully resolved file paths.
func (h *handlers) mediaRoot() (string, error) {
	root := h.d.MediaRoot
	if root == "" {
		wd, err := os.Getwd()
		if err != nil {
			return "", fmt.Errorf("media root: %w", err)
		}
		root = wd
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", fmt.Errorf("media root: %w", err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("media root: %w", err)
	}
	return real, nil
}

// localPath turns a catalog image URI (a path, relative to the working
// directory as `vitrine ingest` read it, or a file:// URL) into a clean
// absolute path. Other schemes are not files.
func localPath(uri string) (string, error) {
	p := uri
	if strings.Contains(uri, "://") {
		u, err := url.Parse(uri)
		if err != nil || u.Scheme != "file" || (u.Host != "" && u.Host != "localhost") {
			return "", fmt.Errorf("image %q is not a local file", uri)
		}
		p = u.Path
	}
	if p == "" || strings.ContainsRune(p, 0) {
		return "", fmt.Errorf("image %q has no usable path", uri)
	}
	abs, err := filepath.Abs(p) // Abs cleans, so "a/../../b" is resolved lexically here
	if err != nil {
		return "", fmt.Errorf("image %q: %w", uri, err)
	}
	return abs, nil
}

// openUnder opens path if it lies under root, judged twice: lexically on the
// cleaned path, then on the path with every symlink resolved (a link inside
// the root may point anywhere). The file is opened through an os.Root, which
// refuses to leave the root even if a link changes between check and open.
func openUnder(root, path string) (*os.File, error) {
	if _, err := within(root, path); err != nil {
		return nil, err
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, err
	}
	rel, err := within(root, real)
	if err != nil {
		return nil, err
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	// A link swapped in after the check makes this fail (not found to the
	// client), never read outside the root.
	return r.Open(rel)
}

// within returns path relative to root, or errOutside.
func within(root, path string) (string, error) {
	rel, err := filepath.Rel(root, filepath.Clean(path))
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "", fmt.Errorf("%s: %w", path, errOutside)
	}
	return rel, nil
}
