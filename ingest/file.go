package ingest

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
)

// File is a catalog file opened for reading: a Reader of its rows that
// also knows the file's size and how many bytes it has read so far, to
// drive a progress bar.
type File struct {
	Reader
	// Size is the file's size in bytes.
	Size int64
	fh   *os.File
	read atomic.Int64
}

// Open opens the catalog file at path; format is "" to tell it from the
// extension (FormatOf). Relative media paths resolve against the file's
// directory.
func Open(path string, format Format) (*File, error) {
	if format == "" {
		var err error
		if format, err = FormatOf(path); err != nil {
			return nil, err
		}
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open catalog: %w", err)
	}
	f := &File{fh: fh}
	if st, err := fh.Stat(); err == nil {
		f.Size = st.Size()
	}
	abs, _ := filepath.Abs(path)
	if f.Reader, err = NewReader(countingReader{fh, &f.read}, format, filepath.Dir(abs)); err != nil {
		fh.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// BytesRead is how much of the file has been read; safe to call from any
// goroutine.
func (f *File) BytesRead() int64 { return f.read.Load() }

// Close closes the file.
func (f *File) Close() error { return f.fh.Close() }

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// RejectsPath is where the rejected rows of the catalog at path go by
// default: beside it, FILE.rejects.jsonl without FILE's extension.
func RejectsPath(path string) string {
	return strings.TrimSuffix(path, filepath.Ext(path)) + ".rejects.jsonl"
}

// Text writes the summary as `vitrine ingest` prints it: the rows, then
// the jobs queued (enqueue) or the vectors written in space and the models
// run, then the products stored without some of their media.
func (sum Summary) Text(w io.Writer, space int, enqueue bool) error {
	fmt.Fprintf(w, "rows %d: inserted %d, updated %d, unchanged %d, rejected %d\n", sum.Rows, sum.Inserted, sum.Updated, sum.Unchanged, sum.Rejected)
	if enqueue {
		fmt.Fprintf(w, "queued %d encoding jobs for space %d (run `vitrine worker`)\n", sum.Enqueued, space)
	} else {
		fmt.Fprintf(w, "vectors in space %d: %d written, %d already up to date; models run:", space, sum.Indexed, sum.UpToDate)
		if len(sum.Encoded) == 0 {
			fmt.Fprint(w, " none")
		}
		for _, m := range slices.Sorted(maps.Keys(sum.Encoded)) {
			fmt.Fprintf(w, " %s×%d", m, sum.Encoded[m])
		}
		fmt.Fprintln(w)
	}
	if sum.Warnings > 0 {
		fmt.Fprintf(w, "%d products stored without some of their media (listed as partial in the reject file)\n", sum.Warnings)
	}
	return nil
}

// RunFile runs Run over the catalog file f with o, its rejected rows going
// to a new file at rejects (o.Rejects is ignored). The reject file is
// removed again when the run completed with no row rejected or stored
// partially, so a clean load leaves no empty file behind.
func RunFile(ctx context.Context, f *File, rejects string, o Options) (Summary, error) {
	rf, err := os.Create(rejects)
	if err != nil {
		return Summary{}, fmt.Errorf("create reject file: %w", err)
	}
	o.Rejects = rf
	sum, err := Run(ctx, f, o)
	if cerr := rf.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("reject file: %w", cerr)
	}
	if err == nil && sum.Rejected == 0 && sum.Warnings == 0 {
		_ = os.Remove(rejects)
	}
	return sum, err
}
