package models

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
)

// ErrNoRuntime is returned (wrapped) when no runtime manifest fits this
// platform (or, with the CUDA build asked for, no GPU manifest does).
var ErrNoRuntime = errors.New("no runtime manifest")

// RuntimeLibrariesInstalled reports whether every library of r (the main
// one and its provider libraries) is in the directory of lib with its
// pinned sha256.
func RuntimeLibrariesInstalled(r Runtime, lib string) (bool, error) {
	for _, f := range r.Libraries() {
		// RuntimeInstalled checks one file; a copy of r naming f stands for
		// each library in turn.
		part := r
		part.File = f
		ok, err := RuntimeInstalled(part, filepath.Join(filepath.Dir(lib), f.Name))
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

// FetchRuntimes fetches every library of the runtimes in rts built for this
// platform into the directory of dest(r): the CPU builds always, the CUDA
// builds when gpu is set. It returns what it fetched or found in place and
// every failure joined; finding no manifest to fetch is ErrNoRuntime.
func (f *Fetcher) FetchRuntimes(ctx context.Context, rts []Runtime, dest func(Runtime) string, gpu bool) ([]FileResult, error) {
	var (
		out     []FileResult
		errs    []error
		n, nGPU int
	)
	for _, r := range rts {
		if !r.ForThisPlatform() || (r.GPU && !gpu) {
			continue
		}
		if r.GPU {
			nGPU++
		} else {
			n++
		}
		dir := filepath.Dir(dest(r))
		for _, lib := range r.Libraries() {
			part := r
			part.File = lib
			res, err := f.FetchRuntime(ctx, part, filepath.Join(dir, lib.Name))
			if err != nil {
				errs = append(errs, err)
				continue
			}
			out = append(out, res)
		}
	}
	if n == 0 {
		errs = append(errs, fmt.Errorf("%w for this platform", ErrNoRuntime))
	}
	if gpu && nGPU == 0 {
		errs = append(errs, fmt.Errorf("no CUDA runtime manifest (gpu: true) for this platform: %w", ErrNoRuntime))
	}
	return out, errors.Join(errs...)
}
