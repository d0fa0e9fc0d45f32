package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/spf13/cobra"

	"github.com/vitrinehq/vitrine/ingest"
	"github.com/vitrinehq/vitrine/jobs"
)

// countingReader counts bytes read, for the progress bar.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func newIngestCmd(a *app) *cobra.Command {
	f := &ingestFlags{}
	cmd := &cobra.Command{
		Use:   "ingest FILE",
		Short: "Load a catalog file (JSON Lines or CSV): store, encode and fuse every product",
		Long: `Load a catalog file into Vitrine.

Each row is validated and stored (idempotent by product id and content hash),
then its text, images and audio are encoded and fused into the active vector
space. Models re-run only for inputs that changed, so ingesting the same file
again encodes nothing, and a run that was killed resumes where it stopped.

Rows that cannot be used (bad JSON, missing id, wrong types, no readable
text or media) are written to the reject file, one JSON object per line with
the line number and reason, and the other rows land. Rows stored without some
of their media (an unreadable image of a product whose text is fine) are
listed there too, with "partial": true.

With --enqueue, products are stored and encoding jobs are queued for
'vitrine worker' processes (on any machine sharing the database) instead of
encoding here.

Formats (by extension, or --format): .jsonl/.ndjson with one object per line
{"id","title","description","brand","category","price","currency",
"attributes","images","audio"}; .csv with a header naming those columns
(category as "A > B", images and audio as "|"-separated lists, attributes as
a JSON object, attr.NAME columns as single attributes). Media are local paths
(relative to the catalog file), file:// or http(s):// URLs.

Exit status: 0 when every row landed whole, 2 when some rows were rejected or
stored partially (see the reject file), 1 on failure.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runIngest(cmd, args[0], f)
		},
	}
	cmd.Flags().StringVar(&f.format, "format", "", "jsonl or csv (default: from the file extension)")
	cmd.Flags().StringVar(&f.rejects, "rejects", "", "where to write rejected rows (default FILE.rejects.jsonl)")
	cmd.Flags().BoolVar(&f.enqueue, "enqueue", false, "queue encoding jobs for `vitrine worker` instead of encoding here")
	cmd.Flags().IntVar(&f.batchSize, "batch-size", 0, "rows per batch (default ingest.batch_size)")
	cmd.PreRun = func(*cobra.Command, []string) {
		if f.batchSize == 0 {
			f.batchSize = a.cfg.Ingest.BatchSize
		}
	}
	return cmd
}

// ingestFlags are the flags of `vitrine ingest`.
type ingestFlags struct {
	format    string
	rejects   string
	enqueue   bool
	batchSize int
}

// openCatalog opens the catalog file at path and a row reader on it (format
// from the flag, or from the extension); the counting reader under it
// drives the progress bar.
func openCatalog(path, format string) (*os.File, *countingReader, ingest.Reader, error) {
	f := ingest.Format(format)
	if f == "" {
		var err error
		if f, err = ingest.FormatOf(path); err != nil {
			return nil, nil, nil, err
		}
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("open catalog: %w", err)
	}
	cr := &countingReader{r: fh}
	abs, _ := filepath.Abs(path)
	rd, err := ingest.NewReader(cr, f, filepath.Dir(abs))
	if err != nil {
		fh.Close()
		return nil, nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return fh, cr, rd, nil
}

// runIngest loads the catalog at path into the active space, encoding here
// or queueing jobs for workers (--enqueue), and reports what happened.
func (a *app) runIngest(cmd *cobra.Command, path string, fl *ingestFlags) error {
	ctx := cmd.Context()
	fh, cr, rd, err := openCatalog(path, fl.format)
	if err != nil {
		return err
	}
	defer fh.Close()
	st0, _ := fh.Stat()
	rejects := fl.rejects
	if rejects == "" {
		rejects = strings.TrimSuffix(path, filepath.Ext(path)) + ".rejects.jsonl"
	}
	svc, err := a.openServices(ctx, nil)
	if err != nil {
		return err
	}
	defer svc.Close()
	st, set, spec := svc.st, svc.set, svc.spec
	space, err := a.activeSpace(ctx, st, spec)
	if err != nil {
		return err
	}
	rf, err := os.Create(rejects)
	if err != nil {
		return fmt.Errorf("create reject file: %w", err)
	}
	defer rf.Close()
	opts := ingest.Options{Space: space, Writer: st, Rejects: rf, BatchSize: fl.batchSize, Logger: a.log}
	if fl.enqueue {
		rc, err := jobs.NewClient(st.JobDriver(), nil, nil, jobs.Options{Logger: a.log})
		if err != nil {
			return err
		}
		opts.Enqueue = func(ctx2 context.Context, space int, ids []string) (int, error) {
			return jobs.Enqueue(ctx2, rc, space, ids)
		}
	} else {
		opts.Indexer = a.indexer(st, set)
	}
	bar := progress(cmd.ErrOrStderr(), st0.Size(), "ingesting", true)
	opts.Progress = func(int) { _ = bar.Set64(cr.n.Load()) }
	sum, runErr := ingest.Run(ctx, rd, opts)
	_ = bar.Finish()
	fmt.Fprintln(cmd.ErrOrStderr())

	out := cmd.OutOrStdout()
	printIngestSummary(out, sum, space.Version, fl.enqueue)
	if runErr != nil {
		return fmt.Errorf("ingest stopped after %d rows (run it again to resume): %w", sum.Rows, runErr)
	}
	if sum.Rejected > 0 || sum.Warnings > 0 {
		fmt.Fprintf(out, "rejected rows are listed in %s\n", rejects)
		return exitError{code: 2}
	}
	_ = os.Remove(rejects) // nothing rejected: leave no empty file behind
	return nil
}

// printIngestSummary prints an ingestion's counts: rows, then jobs queued or
// vectors written and models run.
func printIngestSummary(out io.Writer, sum ingest.Summary, space int, enqueue bool) {
	fmt.Fprintf(out, "rows %d: inserted %d, updated %d, unchanged %d, rejected %d\n", sum.Rows, sum.Inserted, sum.Updated, sum.Unchanged, sum.Rejected)
	if enqueue {
		fmt.Fprintf(out, "queued %d encoding jobs for space %d (run `vitrine worker`)\n", sum.Enqueued, space)
	} else {
		fmt.Fprintf(out, "vectors in space %d: %d written, %d already up to date; models run:", space, sum.Indexed, sum.UpToDate)
		if len(sum.Encoded) == 0 {
			fmt.Fprint(out, " none")
		}
		for m, n := range sum.Encoded {
			fmt.Fprintf(out, " %s×%d", m, n)
		}
		fmt.Fprintln(out)
	}
	if sum.Warnings > 0 {
		fmt.Fprintf(out, "%d products stored without some of their media (listed as partial in the reject file)\n", sum.Warnings)
	}
}
