package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/vitrinehq/vitrine/jobs"
)

func newWorkerCmd(a *app) *cobra.Command {
	var concurrency int
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run encoding jobs from the queue until interrupted (start any number, on any machine)",
		Long: `Run queued encoding jobs (from 'vitrine ingest --enqueue' and the API) until
SIGINT or SIGTERM. Workers share the queue through PostgreSQL (River), so any
number of them can run on any machines that reach the same database. Failed
jobs are retried with exponential backoff; a job whose worker died is taken
over by another worker after worker.rescue_after. Writes are idempotent, so a
job that runs twice does no harm. On shutdown, running jobs finish first.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			svc, err := a.openServices(ctx, nil)
			if err != nil {
				return err
			}
			defer svc.Close()
			st, set := svc.st, svc.set
			if concurrency == 0 {
				concurrency = a.cfg.Worker.Concurrency
			}
			rc, err := jobs.NewClient(st.JobDriver(), st, a.indexer(st, set), jobs.Options{
				Workers: concurrency, RescueAfter: a.cfg.Worker.RescueAfter, TrainEvery: a.cfg.Worker.TrainEvery, TrainBudget: a.cfg.Worker.TrainBudget, Trainer: st, Logger: a.log})
			if err != nil {
				return err
			}
			// River stops on its own context; ours ends on a signal, after
			// which running jobs get time to finish.
			if err := rc.Start(context.WithoutCancel(ctx)); err != nil {
				return fmt.Errorf("start worker: %w", err)
			}
			a.log.Info("worker started", "concurrency", concurrency, "queue", jobs.Queue)
			<-ctx.Done()
			a.log.Info("worker stopping: finishing running jobs")
			stopCtx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if err := rc.Stop(stopCtx); err != nil {
				return fmt.Errorf("stop worker: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&concurrency, "concurrency", 0, "jobs run at once (default worker.concurrency)")
	return cmd
}
