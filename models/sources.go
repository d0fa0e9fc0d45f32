package models

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// candidate is one place a source artifact may be read from.
type candidate struct {
	desc string
	open func(ctx context.Context) (io.ReadCloser, error)
}

// candidates lists the sources of s in the order they are tried: the
// repository, the mirror, npm, a Go module, a URL. Sources that cannot even
// be tried (no mirror configured) are noted in tried so the final error says
// so.
func (f *Fetcher) candidates(st *runState, manifestDir string, s Source, tried *[]error) []candidate {
	var cs []candidate
	if s.Local != "" {
		p := filepath.Join(manifestDir, filepath.FromSlash(s.Local))
		cs = append(cs, candidate{desc: "local " + p, open: openFile(p)})
	}
	if s.Mirror != "" {
		if f.mirrorDir == "" {
			*tried = append(*tried, fmt.Errorf("mirror %s: no mirror directory configured (VITRINE_ASSETS)", s.Mirror))
		} else {
			p := filepath.Join(f.mirrorDir, filepath.FromSlash(s.Mirror))
			cs = append(cs, candidate{desc: "mirror " + p, open: openFile(p)})
		}
	}
	if n := s.NPM; n != nil {
		cs = append(cs, candidate{
			desc: fmt.Sprintf("npm %s@%s %s", n.Package, n.Version, n.Path),
			open: func(ctx context.Context) (io.ReadCloser, error) { return f.openNPM(ctx, st, n) },
		})
	}
	if g := s.GoMod; g != nil {
		cs = append(cs, candidate{
			desc: fmt.Sprintf("go module %s@%s %s", g.Module, g.Version, g.Path),
			open: func(ctx context.Context) (io.ReadCloser, error) { return f.openGoMod(ctx, g) },
		})
	}
	if s.URL != "" {
		cs = append(cs, candidate{
			desc: "url " + s.URL,
			open: func(ctx context.Context) (io.ReadCloser, error) { return f.openURL(ctx, s.URL) },
		})
	}
	return cs
}

func openFile(path string) func(context.Context) (io.ReadCloser, error) {
	return func(context.Context) (io.ReadCloser, error) {
		fh, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, errNotFound
		}
		return fh, err
	}
}

// openGoMod reads a file of a Go module version through the go command, so
// GOPROXY, GOPRIVATE and the module cache behave as for any build.
func (f *Fetcher) openGoMod(ctx context.Context, g *GoModSrc) (io.ReadCloser, error) {
	cmd := exec.CommandContext(ctx, f.goCmd, "mod", "download", "-json", g.Module+"@"+g.Version)
	// Outside any module, so nothing touches a go.mod or go.sum.
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, runErr := cmd.Output()
	var info struct {
		Dir   string
		Error string
	}
	if err := json.Unmarshal(stdout, &info); err != nil || info.Error != "" || runErr != nil {
		msg := strings.TrimSpace(info.Error)
		if msg == "" {
			msg = strings.TrimSpace(stderr.String())
		}
		if runErr == nil {
			runErr = err
		}
		return nil, fmt.Errorf("go mod download: %w: %s", runErr, msg)
	}
	fh, err := os.Open(filepath.Join(info.Dir, filepath.FromSlash(g.Path)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s not in module (%s): %w", g.Path, info.Dir, errNotFound)
	}
	return fh, err
}

// openURL streams a download; nothing is cached because the prepared file
// itself is kept.
func (f *Fetcher) openURL(ctx context.Context, url string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound {
			return nil, fmt.Errorf("GET %s: %s: %w", url, resp.Status, errNotFound)
		}
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return readCloser{newProgress(resp.Body, f.progress, "download "+url, resp.ContentLength), resp.Body}, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// progress reports how far a long read is, at most once a second, as plain
// lines (not carriage returns) so logs of non-terminal runs stay readable.
type progress struct {
	r     io.Reader
	w     io.Writer
	label string
	total int64
	n     int64
	start time.Time
	last  time.Time
	done  bool
}

// progressMin is the size below which reads are not worth reporting.
const progressMin = 16 << 20

func newProgress(r io.Reader, w io.Writer, label string, total int64) io.Reader {
	if w == nil || w == io.Discard || (total >= 0 && total < progressMin) {
		return r
	}
	now := time.Now()
	return &progress{r: r, w: w, label: label, total: total, start: now, last: now}
}

func (p *progress) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n += int64(n)
	now := time.Now()
	switch {
	case err == io.EOF && !p.done:
		p.done = true
		fmt.Fprintf(p.w, "%s: %.1f MiB in %.1fs\n", p.label, mib(p.n), now.Sub(p.start).Seconds())
	case err == nil && now.Sub(p.last) >= time.Second:
		p.last = now
		if p.total > 0 {
			fmt.Fprintf(p.w, "%s: %.1f / %.1f MiB (%d%%)\n", p.label, mib(p.n), mib(p.total), p.n*100/p.total)
		} else {
			fmt.Fprintf(p.w, "%s: %.1f MiB\n", p.label, mib(p.n))
		}
	}
	return n, err
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }
