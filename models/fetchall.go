package models

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"
)

// FetchRequest says what FetchAll fetches: the runtime libraries unless
// models are named, and the models unless RuntimeOnly.
type FetchRequest struct {
	ManifestDir string               // the model manifests
	RuntimeDir  string               // the runtime manifests
	Names       []string             // only these models, and no runtime; all models when empty
	RuntimeOnly bool                 // no model at all
	GPU         bool                 // also the CUDA build of the runtime
	Dest        func(Runtime) string // where a runtime's library goes
}

// FetchAll fetches what req asks for, writing one line per file to w
// (PrintFetched), and returns every failure joined.
func (f *Fetcher) FetchAll(ctx context.Context, w io.Writer, req FetchRequest) error {
	var errs []error
	if len(req.Names) == 0 {
		rts, err := LoadRuntimes(req.RuntimeDir)
		if err != nil {
			return err
		}
		res, err := f.FetchRuntimes(ctx, rts, req.Dest, req.GPU)
		PrintFetched(w, res...)
		if err != nil {
			errs = append(errs, fmt.Errorf("runtimes in %s: %w", req.RuntimeDir, err))
		}
	}
	if req.RuntimeOnly {
		return errors.Join(errs...)
	}
	ms, err := Load(req.ManifestDir)
	if err != nil {
		return err
	}
	todo, err := Select(ms, req.Names, req.ManifestDir)
	if err != nil {
		return err
	}
	for _, m := range todo {
		res, err := f.Fetch(ctx, m)
		PrintFetched(w, res...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Select returns the manifests named, in the order given, or all of ms
// when names is empty; dir is the manifests directory, for the error
// about a name it lacks.
func Select(ms []Manifest, names []string, dir string) ([]Manifest, error) {
	if len(names) == 0 {
		return ms, nil
	}
	todo := make([]Manifest, 0, len(names))
	for _, name := range names {
		m, ok := Find(ms, name)
		if !ok {
			return nil, fmt.Errorf("no model %q in %s", name, dir)
		}
		todo = append(todo, m)
	}
	return todo, nil
}

// PrintFetched writes one line per file fetched or found in place: the
// action, the file, where it is installed, its size and the time taken.
func PrintFetched(w io.Writer, rs ...FileResult) {
	for _, r := range rs {
		size := ""
		if r.Bytes > 0 {
			size = " " + strconv.FormatFloat(float64(r.Bytes)/(1<<20), 'f', 1, 64) + " MiB"
		}
		fmt.Fprintf(w, "%-8s %s -> %s%s (%s)\n", r.Action, r.File, r.Path, size, r.Took.Round(time.Millisecond))
	}
}

// List writes the table of `vitrine models list`: each model and each
// runtime built for this platform, and whether its files are installed
// (a runtime's library at dest(r)).
func (f *Fetcher) List(w io.Writer, ms []Manifest, rts []Runtime, dest func(Runtime) string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVERSION\tMODALITY\tDIM\tFETCHED")
	for _, m := range ms {
		ok, err := f.Installed(m)
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", m.Name, m.Version, m.Modality, m.Dim, yesNo(ok))
	}
	for _, r := range rts {
		if !r.ForThisPlatform() {
			continue
		}
		ok, err := RuntimeLibrariesInstalled(r, dest(r))
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Name, r.Version, "runtime", "-", yesNo(ok))
	}
	return tw.Flush()
}

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "no"
}
