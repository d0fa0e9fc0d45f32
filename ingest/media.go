package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/vitrinehq/vitrine/internal/netguard"
)

// Media loading errors.
var (
	ErrMediaTooLarge = errors.New("media too large")
	ErrMediaFetch    = errors.New("media unreadable")
)

// MediaLoader reads product media from local paths, file:// and http(s)://
// URLs with a size and a time limit. Remote media are fetched through the
// SSRF guard (package netguard): loopback, private, link-local and
// metadata addresses are refused, after DNS and on every redirect, unless
// allowed with WithFetchAllow. Its errors never quote what was read: a
// catalog row may name a local file or an internal service.
type MediaLoader struct {
	maxBytes int64
	timeout  time.Duration
	client   *http.Client
	allow    []netip.Prefix
}

// MediaOption configures a MediaLoader.
type MediaOption func(*MediaLoader)

// WithMaxMediaBytes bounds one file (default 20 MiB).
func WithMaxMediaBytes(n int64) MediaOption { return func(m *MediaLoader) { m.maxBytes = n } }

// WithMediaTimeout bounds one download (default 15 s).
func WithMediaTimeout(d time.Duration) MediaOption { return func(m *MediaLoader) { m.timeout = d } }

// WithHTTPClient sets the client for http(s) media, replacing the guarded
// default (the caller then owns what it may reach).
func WithHTTPClient(c *http.Client) MediaOption { return func(m *MediaLoader) { m.client = c } }

// WithFetchAllow lets the default guarded client reach these internal
// prefixes (a media host on the shop's own network).
func WithFetchAllow(prefixes ...netip.Prefix) MediaOption {
	return func(m *MediaLoader) { m.allow = append(m.allow, prefixes...) }
}

// NewMediaLoader returns a loader with sane limits whose remote fetches
// pass the SSRF guard.
func NewMediaLoader(opts ...MediaOption) *MediaLoader {
	m := &MediaLoader{maxBytes: 20 << 20, timeout: 15 * time.Second}
	for _, o := range opts {
		o(m)
	}
	if m.client == nil {
		m.client = netguard.New(netguard.WithAllow(m.allow...), netguard.WithTimeout(m.timeout)).Client()
	}
	return m
}

// Load returns the bytes a media reference points to.
func (m *MediaLoader) Load(ctx context.Context, ref string) ([]byte, error) {
	switch {
	case strings.HasPrefix(ref, "http://"), strings.HasPrefix(ref, "https://"):
		return m.loadHTTP(ctx, ref)
	case strings.HasPrefix(ref, "file://"):
		u, err := url.Parse(ref)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrMediaFetch, ref, err)
		}
		return m.loadFile(u.Path)
	case strings.Contains(ref, "://"):
		return nil, fmt.Errorf("%w: %s: only local paths, file:// and http(s):// are supported", ErrMediaFetch, ref)
	default:
		return m.loadFile(ref)
	}
}

func (m *MediaLoader) loadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMediaFetch, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMediaFetch, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrMediaFetch, path)
	}
	if st.Size() > m.maxBytes {
		return nil, fmt.Errorf("%w: %s is %d bytes, limit %d", ErrMediaTooLarge, path, st.Size(), m.maxBytes)
	}
	return m.readLimited(f, path)
}

func (m *MediaLoader) loadHTTP(ctx context.Context, ref string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ref, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrMediaFetch, ref, err)
	}
	resp, err := m.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMediaFetch, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// The status code only: the reason phrase is the server's text.
		return nil, fmt.Errorf("%w: %s: HTTP status %d", ErrMediaFetch, ref, resp.StatusCode)
	}
	if resp.ContentLength > m.maxBytes {
		return nil, fmt.Errorf("%w: %s is %d bytes, limit %d", ErrMediaTooLarge, ref, resp.ContentLength, m.maxBytes)
	}
	return m.readLimited(resp.Body, ref)
}

// readLimited reads at most maxBytes, failing rather than truncating.
func (m *MediaLoader) readLimited(r io.Reader, name string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, m.maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrMediaFetch, name, err)
	}
	if int64(len(b)) > m.maxBytes {
		return nil, fmt.Errorf("%w: %s exceeds %d bytes", ErrMediaTooLarge, name, m.maxBytes)
	}
	return b, nil
}
