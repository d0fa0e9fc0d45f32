package jobs

import (
	"context"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/vitrinehq/vitrine/training"
)

// TrainArgs asks for a collaborative-filtering training run; the periodic
// schedule inserts one every worker.train_every, and only one waits at a
// time.
type TrainArgs struct {
	Method string `json:"method"`
}

// Kind is River's job kind.
func (TrainArgs) Kind() string { return "vitrine.train_cf" }

// InsertOpts keeps training jobs on their own queue, unique while pending.
func (TrainArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: TrainQueue, MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByArgs: true,
		ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending,
			rivertype.JobStateRunning, rivertype.JobStateRetryable, rivertype.JobStateScheduled}}}
}

// TrainQueue runs one training at a time per worker.
const TrainQueue = "train"

// TrainWorker runs training.Train with the configured search budget
// (worker.train_budget): the same search `vitrine train --budget` runs, so
// a scheduled training serves what it chose as the command does.
type TrainWorker struct {
	river.WorkerDefaults[TrainArgs]
	store  training.Store
	log    *slog.Logger
	budget time.Duration
}

// Work trains and activates a model.
func (w *TrainWorker) Work(ctx context.Context, job *river.Job[TrainArgs]) error {
	rep, err := training.Train(ctx, w.store, training.Options{Method: job.Args.Method, Budget: w.budget})
	if err != nil {
		return err
	}
	attrs := []any{"version", rep.Version, "method", rep.Method, "served", rep.Served.String(),
		"interactions", rep.Interactions, "fit", rep.Fit, "total", rep.Total}
	if rep.Search != nil {
		attrs = append(attrs, "chosen", rep.Search.Choice.String(), "chosen_ndcg", rep.Search.Choice.Score, "trials", len(rep.Search.Trials))
	}
	w.log.Info("trained collaborative-filtering model", attrs...)
	return nil
}

// Timeout allows a large catalog's training.
func (w *TrainWorker) Timeout(*river.Job[TrainArgs]) time.Duration { return time.Hour }
