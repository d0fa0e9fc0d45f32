package web

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestLocalPath(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		uri, want string
		ok        bool
	}{
		{"/srv/img/a.jpg", "/srv/img/a.jpg", true},
		{"/srv/img/../../etc/passwd", "/etc/passwd", true}, // cleaned here, refused by openUnder
		{"img/a.jpg", filepath.Join(wd, "img", "a.jpg"), true},
		{"file:///srv/img/a.jpg", "/srv/img/a.jpg", true},
		{"file://localhost/srv/img/a.jpg", "/srv/img/a.jpg", true},
		{"file://other/srv/img/a.jpg", "", false},
		{"https://example.com/a.jpg", "", false},
		{"ftp://example.com/a.jpg", "", false},
		{"file://", "", false},
		{"a\x00b.jpg", "", false},
	} {
		got, err := localPath(tc.uri)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("localPath(%q) = %q, %v; want %q, ok=%v", tc.uri, got, err, tc.want, tc.ok)
		}
	}
}

func TestWithin(t *testing.T) {
	for _, tc := range []struct {
		root, path, rel string
	}{
		{"/srv", "/srv/a.jpg", "a.jpg"},
		{"/srv", "/srv/img/a.jpg", "img/a.jpg"},
		{"/srv", "/srv/img/../a.jpg", "a.jpg"},
		{"/srv", "/srv", "."},
		{"/srv", "/srv/../etc/passwd", ""},
		{"/srv", "/srvx/a.jpg", ""},
		{"/srv", "/etc/passwd", ""},
		{"/srv", "/", ""},
		{"/srv", "/srv/..", ""},
		{"/srv", "/srv/..foo/a.jpg", "..foo/a.jpg"}, // a name starting with dots is inside
	} {
		rel, err := within(tc.root, tc.path)
		if tc.rel == "" {
			if !errors.Is(err, errOutside) {
				t.Errorf("within(%q, %q) = %q, %v; want errOutside", tc.root, tc.path, rel, err)
			}
			continue
		}
		if err != nil || rel != tc.rel {
			t.Errorf("within(%q, %q) = %q, %v; want %q", tc.root, tc.path, rel, err, tc.rel)
		}
	}
}

// TestOpenUnder checks the symlink rules on a real tree: links are followed
// while they stay inside the root, refused when they lead out.
func TestOpenUnder(t *testing.T) {
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	outside := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "img"), 0o755))
	must(os.WriteFile(filepath.Join(root, "img", "a.jpg"), []byte("a"), 0o644))
	must(os.WriteFile(filepath.Join(outside, "b.jpg"), []byte("b"), 0o644))
	must(os.Symlink(filepath.Join(root, "img", "a.jpg"), filepath.Join(root, "in.jpg")))
	must(os.Symlink(filepath.Join(outside, "b.jpg"), filepath.Join(root, "out.jpg")))
	must(os.Symlink(outside, filepath.Join(root, "outdir")))
	for _, tc := range []struct {
		path    string
		outside bool
		missing bool
	}{
		{path: filepath.Join(root, "img", "a.jpg")},
		{path: filepath.Join(root, "in.jpg")},
		{path: filepath.Join(root, "out.jpg"), outside: true},
		{path: filepath.Join(root, "outdir", "b.jpg"), outside: true},
		{path: filepath.Join(root, "img", "..", "..", filepath.Base(outside), "b.jpg"), outside: true},
		{path: filepath.Join(outside, "b.jpg"), outside: true},
		{path: filepath.Join(root, "img", "none.jpg"), missing: true},
	} {
		f, err := openUnder(root, filepath.Clean(tc.path))
		switch {
		case tc.outside:
			if !errors.Is(err, errOutside) {
				t.Errorf("%s: err %v, want errOutside", tc.path, err)
			}
		case tc.missing:
			if !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s: err %v, want not exist", tc.path, err)
			}
		case err != nil:
			t.Errorf("%s: %v", tc.path, err)
		}
		if f != nil {
			f.Close()
		}
	}
}
