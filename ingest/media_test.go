package ingest_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/extractors/imageprep"
	"github.com/vitrinehq/vitrine/ingest"
	"github.com/vitrinehq/vitrine/internal/netguard"
)

// loopback is where httptest servers listen: internal, so refused unless
// allowed.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

func TestMediaLoader(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small.bin")
	big := filepath.Join(dir, "big.bin")
	_ = os.WriteFile(small, []byte("hello"), 0o644)
	_ = os.WriteFile(big, make([]byte, 2000), 0o644)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.Write([]byte("remote"))
		case "/big":
			// No Content-Length: the limit must still hold while streaming.
			for range 10 {
				w.Write(make([]byte, 500))
				w.(http.Flusher).Flush()
			}
		case "/slow":
			time.Sleep(300 * time.Millisecond)
			w.Write([]byte("late"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	m := ingest.NewMediaLoader(ingest.WithMaxMediaBytes(1000), ingest.WithMediaTimeout(100*time.Millisecond), ingest.WithFetchAllow(loopback...))
	tests := []struct {
		ref     string
		want    string
		wantErr error
	}{
		{small, "hello", nil},
		{"file://" + small, "hello", nil},
		{srv.URL + "/ok", "remote", nil},
		{big, "", ingest.ErrMediaTooLarge},
		{srv.URL + "/big", "", ingest.ErrMediaTooLarge},
		{srv.URL + "/slow", "", ingest.ErrMediaFetch},
		{srv.URL + "/missing", "", ingest.ErrMediaFetch},
		{filepath.Join(dir, "nope.jpg"), "", ingest.ErrMediaFetch},
		{dir, "", ingest.ErrMediaFetch},
		{"ftp://example.com/a.jpg", "", ingest.ErrMediaFetch},
	}
	for _, tc := range tests {
		t.Run(strings.TrimPrefix(tc.ref, dir), func(t *testing.T) {
			b, err := m.Load(context.Background(), tc.ref)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Errorf("err %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil || string(b) != tc.want {
				t.Errorf("got %q %v", b, err)
			}
		})
	}
}

// Product media URLs pass the SSRF guard: a loopback server (an internal
// service, as far as the loader knows) and a redirect to it are refused by
// default and reached only through the allow-list; no failure quotes what
// the server or a local file holds.
func TestMediaLoaderGuard(t *testing.T) {
	const secret = "internal-secret-7f3a"
	internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			_, _ = w.Write([]byte("remote"))
		case "/to-ok":
			http.Redirect(w, r, "/ok", http.StatusFound)
		default:
			// A reason phrase and a body that must not reach a reject reason.
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(secret))
		}
	}))
	defer internal.Close()
	dir := t.TempDir()
	local := filepath.Join(dir, "passwd.jpg")
	if err := os.WriteFile(local, []byte(secret+"\nroot:x:0:0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	guarded := ingest.NewMediaLoader()
	allowed := ingest.NewMediaLoader(ingest.WithFetchAllow(loopback...))
	tests := []struct {
		name    string
		loader  *ingest.MediaLoader
		ref     string
		want    string
		wantErr error
	}{
		{"loopback refused", guarded, internal.URL + "/ok", "", netguard.ErrBlocked},
		{"another loopback URL refused", guarded, internal.URL + "/to-ok", "", netguard.ErrBlocked},
		{"metadata address refused", guarded, "http://169.254.169.254/latest/meta-data/", "", netguard.ErrBlocked},
		{"allowed", allowed, internal.URL + "/ok", "remote", nil},
		{"allowed redirect", allowed, internal.URL + "/to-ok", "remote", nil},
		{"error body not quoted", allowed, internal.URL + "/fail", "", ingest.ErrMediaFetch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.loader.Load(t.Context(), tc.ref)
			if tc.wantErr == nil {
				if err != nil || string(b) != tc.want {
					t.Fatalf("got %q %v, want %q", b, err, tc.want)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) || !errors.Is(err, ingest.ErrMediaFetch) {
				t.Fatalf("err %v, want %v wrapped in ErrMediaFetch", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error quotes the response: %v", err)
			}
		})
	}
	// A local file named as an image is read (the catalog names it), but
	// the reason it is rejected does not quote it.
	b, err := guarded.Load(t.Context(), local)
	if err != nil {
		t.Fatal(err)
	}
	_, err = imageprep.ParseHeader(b)
	if !errors.Is(err, imageprep.ErrUnsupportedFormat) || strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "root") {
		t.Errorf("reject reason of a local text file: %v", err)
	}
}
