package ingest_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/ingest"
)

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
	m := ingest.NewMediaLoader(ingest.WithMaxMediaBytes(1000), ingest.WithMediaTimeout(100*time.Millisecond))
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
