package main

import (
	"cmp"
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/vitrinehq/vitrine/ingest"
	"github.com/vitrinehq/vitrine/jobs"
)

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

// runIngest loads the catalog at path into the active space, encoding here
// or queueing jobs for workers (--enqueue), and reports what happened.
func (a *app) runIngest(cmd *cobra.Command, path string, fl *ingestFlags) error {
	ctx := cmd.Context()
	rd, err := ingest.Open(path, ingest.Format(fl.format))
	if err != nil {
		return err
	}
	defer rd.Close()
	svc, err := a.openServices(ctx, nil)
	if err != nil {
		return err
	}
	defer svc.Close()
	space, err := a.activeSpace(ctx, svc.st, svc.spec)
	if err != nil {
		return err
	}
	opts := ingest.Options{Space: space, Writer: svc.st, BatchSize: fl.batchSize, Concurrency: a.cfg.Ingest.Concurrency, Logger: a.log,
		DeferIndexes: ingest.IndexDeferral{Store: svc.st, Models: indexedModels(svc.set), Below: a.cfg.Ingest.DeferIndexesBelow}}
	if fl.enqueue {
		rc, err := jobs.NewClient(svc.st.JobDriver(), nil, nil, jobs.Options{Logger: a.log})
		if err != nil {
			return err
		}
		opts.Enqueue = func(ctx2 context.Context, space int, ids []string) (int, error) {
			return jobs.Enqueue(ctx2, rc, space, ids)
		}
	} else {
		opts.Indexer = a.indexer(svc.st, svc.set)
	}
	bar := progress(cmd.ErrOrStderr(), rd.Size, "ingesting", true)
	opts.Progress = func(int) { _ = bar.Set64(rd.BytesRead()) }
	rejects := cmp.Or(fl.rejects, ingest.RejectsPath(path))
	sum, runErr := ingest.RunFile(ctx, rd, rejects, opts)
	_ = bar.Finish()
	fmt.Fprintln(cmd.ErrOrStderr())
	out := cmd.OutOrStdout()
	_ = sum.Text(out, space.Version, fl.enqueue)
	if runErr != nil {
		return fmt.Errorf("ingest stopped after %d rows (run it again to resume): %w", sum.Rows, runErr)
	}
	if sum.Rejected > 0 || sum.Warnings > 0 {
		fmt.Fprintf(out, "rejected rows are listed in %s\n", rejects)
		return exitError{code: 2}
	}
	return nil
}
