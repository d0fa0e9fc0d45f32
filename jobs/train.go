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

// TrainWorker runs training.Train.
type TrainWorker struct {
	river.WorkerDefaults[TrainArgs]
	store training.Store
	log   *slog.Logger
}

// Work trains and activates a model.
func (w *TrainWorker) Work(ctx context.Context, job *river.Job[TrainArgs]) error {
	rep, err := training.Train(ctx, w.store, training.Options{Method: job.Args.Method})
	if err != nil {
		return err
	}
	w.log.Info("trained collaborative-filtering model", "version", rep.Version, "method", rep.Method,
		"interactions", rep.Interactions, "fit", rep.Fit)
	return nil
}

// Timeout allows a large catalog's training.
func (w *TrainWorker) Timeout(*river.Job[TrainArgs]) time.Duration { return time.Hour }
