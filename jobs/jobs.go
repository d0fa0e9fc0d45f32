// Package jobs runs Vitrine's background work (encoding products into a
// vector space) as River jobs in PostgreSQL, so any number of workers on
// any machines share one queue with retries and backoff.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/indexer"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/training"
)

// Queue is the River queue encoding jobs run on.
const Queue = "encode"

// EncodeArgs asks for one product's vectors in one space. Jobs are unique
// by (product, space) while pending, so enqueueing twice does no harm.
type EncodeArgs struct {
	ProductID string `json:"product_id" river:"unique"`
	Space     int    `json:"space" river:"unique"`
}

// Kind is River's job kind.
func (EncodeArgs) Kind() string { return "vitrine.encode_product" }

// InsertOpts puts encoding jobs on their queue, unique while not finished.
func (EncodeArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		Queue:       Queue,
		MaxAttempts: 10,
		UniqueOpts: river.UniqueOpts{
			ByArgs: true,
			ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending,
				rivertype.JobStateRunning, rivertype.JobStateRetryable, rivertype.JobStateScheduled},
		},
	}
}

// Store is what the worker reads.
type Store interface {
	GetProduct(ctx context.Context, id string) (catalog.Product, error)
	GetSpace(ctx context.Context, version int) (records.Space, error)
}

// Indexer encodes products (see package indexer).
type Indexer interface {
	Index(ctx context.Context, space records.Space, products []catalog.Product) ([]indexer.Result, indexer.Stats, error)
}

// EncodeWorker runs EncodeArgs jobs with the shared indexing code, so the
// queued path and the in-process path behave the same.
type EncodeWorker struct {
	river.WorkerDefaults[EncodeArgs]
	store   Store
	indexer Indexer
	log     *slog.Logger
	timeout time.Duration
}

// Work indexes one product. A deleted product or dropped space ends the job
// quietly; a product with no usable modality is cancelled with the reason
// (retrying cannot help); database or model failures are retried.
func (w *EncodeWorker) Work(ctx context.Context, job *river.Job[EncodeArgs]) error {
	p, err := w.store.GetProduct(ctx, job.Args.ProductID)
	if errors.Is(err, records.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	sp, err := w.store.GetSpace(ctx, job.Args.Space)
	if errors.Is(err, records.ErrNotFound) {
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	res, _, err := w.indexer.Index(ctx, sp, []catalog.Product{p})
	if err != nil {
		return err
	}
	if r := res[0]; r.Outcome == indexer.Rejected {
		w.log.Warn("product rejected", "product", p.ID, "space", sp.Version, "reason", r.Err)
		return river.JobCancel(r.Err)
	} else if len(r.Warnings) > 0 {
		w.log.Warn("product indexed without some media", "product", p.ID, "warnings", r.Warnings)
	}
	return nil
}

// Timeout bounds one job (media downloads and model runs included).
func (w *EncodeWorker) Timeout(*river.Job[EncodeArgs]) time.Duration { return w.timeout }

// Options configure a client.
type Options struct {
	// Workers is how many jobs this process runs at once; 0 makes an
	// insert-only client (for `ingest --enqueue`).
	Workers int
	// RescueAfter is how long a job may run before another worker takes
	// it over (a worker that died mid-job); must exceed the job timeout.
	RescueAfter time.Duration
	// TrainEvery schedules a collaborative-filtering training (0: never);
	// trainer is the training store (needed when TrainEvery > 0).
	TrainEvery time.Duration
	// TrainBudget is the scheduled training's search budget (0: none).
	TrainBudget time.Duration
	Trainer     training.Store
	Logger      *slog.Logger
}

// NewClient returns a River client on driver (the store's JobDriver, so
// jobs live in the catalog's database). With o.Workers > 0 it registers the
// encode worker, which needs s and ix.
func NewClient(driver riverdriver.Driver[pgx.Tx], s Store, ix Indexer, o Options) (*river.Client[pgx.Tx], error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	cfg := &river.Config{Logger: o.Logger}
	if o.Workers > 0 {
		if o.RescueAfter <= 0 {
			o.RescueAfter = 5 * time.Minute
		}
		// A job must time out before it can be rescued, or a slow job
		// would run twice at once.
		timeout := min(2*time.Minute, max(time.Second, o.RescueAfter/2))
		workers := river.NewWorkers()
		if err := river.AddWorkerSafely(workers, &EncodeWorker{store: s, indexer: ix, log: o.Logger, timeout: timeout}); err != nil {
			return nil, fmt.Errorf("register worker: %w", err)
		}
		cfg.Workers = workers
		cfg.Queues = map[string]river.QueueConfig{Queue: {MaxWorkers: o.Workers}}
		if o.TrainEvery > 0 {
			if err := river.AddWorkerSafely(workers, &TrainWorker{store: o.Trainer, log: o.Logger, budget: o.TrainBudget}); err != nil {
				return nil, fmt.Errorf("register training worker: %w", err)
			}
			cfg.Queues[TrainQueue] = river.QueueConfig{MaxWorkers: 1}
			// Many workers may schedule it; River's leader inserts it and
			// uniqueness keeps one pending.
			cfg.PeriodicJobs = []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(o.TrainEvery),
				func() (river.JobArgs, *river.InsertOpts) { return TrainArgs{Method: "als"}, nil },
				&river.PeriodicJobOpts{ID: "train_cf"})}
		}
		cfg.JobTimeout = timeout
		cfg.RescueStuckJobsAfter = o.RescueAfter
		cfg.FetchCooldown = 20 * time.Millisecond
		cfg.FetchPollInterval = 200 * time.Millisecond
	}
	c, err := river.NewClient(driver, cfg)
	if err != nil {
		return nil, fmt.Errorf("river client: %w", err)
	}
	return c, nil
}

// Enqueue inserts encoding jobs for ids in space, in one round trip.
func Enqueue(ctx context.Context, c *river.Client[pgx.Tx], space int, ids []string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	params := make([]river.InsertManyParams, len(ids))
	for i, id := range ids {
		params[i] = river.InsertManyParams{Args: EncodeArgs{ProductID: id, Space: space}}
	}
	res, err := c.InsertMany(ctx, params)
	if err != nil {
		return 0, fmt.Errorf("enqueue encoding jobs: %w", err)
	}
	n := 0
	for _, r := range res {
		if !r.UniqueSkippedAsDuplicate {
			n++
		}
	}
	return n, nil
}

// JobCounter counts unfinished jobs of a queue (the store).
type JobCounter interface {
	PendingJobs(ctx context.Context, queue string) (int64, error)
}

// Pending counts encoding jobs not yet finished.
func Pending(ctx context.Context, c JobCounter) (int64, error) {
	return c.PendingJobs(ctx, Queue)
}
