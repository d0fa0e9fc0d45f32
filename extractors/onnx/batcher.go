package onnx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// BatchFunc runs a whole batch. It returns one Out per In, in order, or an
// error for all of them, or a *PartialError with per-item errors (and outs
// for the items whose error is nil). ctx is cancelled when every caller in
// the batch has gone away, or when Close gives up waiting; it does not carry
// the callers' context values.
type BatchFunc[In, Out any] func(ctx context.Context, items []In) ([]Out, error)

// BatchStats describes one call of the batch function.
type BatchStats struct {
	// Size is the number of items passed to the batch function; 0 when
	// every item was skipped and the function was not called.
	Size int
	// Skipped counts items dropped unrun because their caller's context was
	// done before the batch started.
	Skipped int
	// Duration is the time spent in the batch function.
	Duration time.Duration
	// Err is what the batch function returned.
	Err error
}

// ItemStats describes one Submit call.
type ItemStats struct {
	// Wait is the time from Submit to the start of the item's batch; 0 if
	// the item never ran.
	Wait time.Duration
	// Total is the time Submit took.
	Total time.Duration
	// Err is what Submit returned: nil, ErrOverloaded, ErrClosed, a context
	// error or the batch function's error.
	Err error
}

// Metrics receives the Batcher's measurements; the API layer adapts it to
// Prometheus (a histogram of batch sizes, a queue-depth gauge, latency
// histograms). Methods are called from several goroutines, on the hot path:
// keep them fast and safe for concurrent use. Embed NopMetrics to implement
// only some.
type Metrics interface {
	// ObserveBatch is called after every call of the batch function.
	ObserveBatch(BatchStats)
	// ObserveQueueDepth is called with the number of waiting items after
	// each enqueue and each time a batch is taken off the queue.
	ObserveQueueDepth(depth int)
	// ObserveItem is called once per Submit, whatever its outcome.
	ObserveItem(ItemStats)
}

// NopMetrics discards all measurements.
type NopMetrics struct{}

// ObserveBatch does nothing.
func (NopMetrics) ObserveBatch(BatchStats) {}

// ObserveQueueDepth does nothing.
func (NopMetrics) ObserveQueueDepth(int) {}

// ObserveItem does nothing.
func (NopMetrics) ObserveItem(ItemStats) {}

// BatcherOption configures NewBatcher.
type BatcherOption func(*batcherOptions) error

type batcherOptions struct {
	maxBatch  int
	maxWait   time.Duration
	queueSize int
	workers   int
	metrics   Metrics
	logger    *slog.Logger
}

// WithMaxBatch caps the items per batch function call (default 32, config's
// ort.max_batch).
func WithMaxBatch(n int) BatcherOption {
	return func(o *batcherOptions) error {
		if n < 1 {
			return fmt.Errorf("max batch %d, want >= 1", n)
		}
		o.maxBatch = n
		return nil
	}
}

// WithMaxWait bounds how long an item waits for company before its batch
// runs anyway (default 5ms, config's ort.max_wait). It is measured from the
// item's Submit, so under load, when items have already queued that long,
// batches run back to back without extra waiting. 0 never waits: a batch is
// whatever is queued when the worker comes round.
func WithMaxWait(d time.Duration) BatcherOption {
	return func(o *batcherOptions) error {
		if d < 0 {
			return fmt.Errorf("max wait %v, want >= 0", d)
		}
		o.maxWait = d
		return nil
	}
}

// WithQueueSize bounds the items waiting to be batched (default 1024,
// config's ort.queue_size). Beyond it Submit fails at once with
// ErrOverloaded: a bounded queue keeps latency bounded and tells the caller
// to shed load instead of piling up work nobody will wait for.
func WithQueueSize(n int) BatcherOption {
	return func(o *batcherOptions) error {
		if n < 1 {
			return fmt.Errorf("queue size %d, want >= 1", n)
		}
		o.queueSize = n
		return nil
	}
}

// WithWorkers sets how many batches may be collected and run at once
// (default 1). With 2, the next batch is gathered and its batch function
// starts while the previous one still runs: a batch function that
// pre-processes (decodes, tokenises) and then holds a lock around the
// model run gets the pre-processing of batch N+1 overlapped with the model
// run of batch N, instead of the model idling while the CPU prepares.
func WithWorkers(n int) BatcherOption {
	return func(o *batcherOptions) error {
		if n < 1 {
			return fmt.Errorf("workers %d, want >= 1", n)
		}
		o.workers = n
		return nil
	}
}

// WithMetrics attaches measurement hooks.
func WithMetrics(m Metrics) BatcherOption {
	return func(o *batcherOptions) error {
		if m == nil {
			return fmt.Errorf("metrics is nil")
		}
		o.metrics = m
		return nil
	}
}

// WithBatcherLogger sets the logger (default slog.Default()); the Batcher
// only logs a panicking batch function.
func WithBatcherLogger(l *slog.Logger) BatcherOption {
	return func(o *batcherOptions) error {
		if l == nil {
			return fmt.Errorf("logger is nil")
		}
		o.logger = l
		return nil
	}
}

// Batcher coalesces concurrent Submit calls into calls of one BatchFunc, run
// one batch at a time by a single worker unless WithWorkers says otherwise:
// the model already uses every core (intra-op threads), so bigger batches,
// not more concurrent runs, are what raise throughput.
type Batcher[In, Out any] struct {
	fn   BatchFunc[In, Out]
	opts batcherOptions

	queue chan *request[In, Out]
	// mu makes "not closed, then enqueue" atomic against Close, so nothing
	// enters the queue after the worker has been told to drain it.
	mu     sync.RWMutex
	closed bool
	quit   chan struct{} // closed by Close: drain the queue, then exit
	done   chan struct{} // closed when every worker has exited
	// collectMu lets one worker at a time gather a batch (see next).
	collectMu sync.Mutex

	// base parents every batch context; cancelled when Close runs out of
	// time, to abort the running batch and fail the rest fast.
	base  context.Context
	abort context.CancelFunc
}

type request[In, Out any] struct {
	ctx   context.Context
	item  In
	start time.Time
	res   chan result[Out] // buffered: the worker never blocks on a caller
}

type result[Out any] struct {
	out  Out
	err  error
	wait time.Duration
}

// NewBatcher starts a Batcher around fn. Close it to stop its worker.
func NewBatcher[In, Out any](fn BatchFunc[In, Out], opts ...BatcherOption) (*Batcher[In, Out], error) {
	if fn == nil {
		return nil, fmt.Errorf("onnx: batcher: %w: batch function is nil", ErrInvalidOption)
	}
	o := batcherOptions{maxBatch: 32, maxWait: 5 * time.Millisecond, queueSize: 1024, workers: 1, metrics: NopMetrics{}}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("onnx: batcher: %w: %w", ErrInvalidOption, err)
		}
	}
	if o.logger == nil {
		o.logger = slog.Default()
	}
	base, abort := context.WithCancel(context.Background())
	b := &Batcher[In, Out]{
		fn:    fn,
		opts:  o,
		queue: make(chan *request[In, Out], o.queueSize),
		quit:  make(chan struct{}),
		done:  make(chan struct{}),
		base:  base,
		abort: abort,
	}
	var wg sync.WaitGroup
	for range o.workers {
		wg.Go(b.loop)
	}
	go func() {
		wg.Wait()
		close(b.done)
	}()
	return b, nil
}

// Submit queues item and waits for its result. It fails at once with
// ErrOverloaded when the queue is full and ErrClosed after Close. When ctx
// is done first it returns ctx.Err() promptly; the item is then dropped if
// its batch has not started.
func (b *Batcher[In, Out]) Submit(ctx context.Context, item In) (out Out, err error) {
	start := time.Now()
	var wait time.Duration
	defer func() {
		b.opts.metrics.ObserveItem(ItemStats{Wait: wait, Total: time.Since(start), Err: err})
	}()
	var zero Out
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	r := &request[In, Out]{ctx: ctx, item: item, start: start, res: make(chan result[Out], 1)}
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return zero, fmt.Errorf("onnx: batcher %w", ErrClosed)
	}
	select {
	case b.queue <- r:
	default:
		b.mu.RUnlock()
		return zero, fmt.Errorf("onnx: batcher: %w: %d requests queued", ErrOverloaded, cap(b.queue))
	}
	depth := len(b.queue)
	b.mu.RUnlock()
	b.opts.metrics.ObserveQueueDepth(depth)
	select {
	case res := <-r.res:
		wait = res.wait
		return res.out, res.err
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// QueueDepth is the number of items waiting, for gauges that poll.
func (b *Batcher[In, Out]) QueueDepth() int { return len(b.queue) }

// Close stops accepting items and waits until everything already queued has
// run. If ctx ends first, the running batch's context is cancelled, items
// still queued fail with ErrClosed, and Close returns ctx's error without
// waiting for a batch function that ignores its context. Close is
// idempotent.
func (b *Batcher[In, Out]) Close(ctx context.Context) error {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.quit)
	}
	b.mu.Unlock()
	select {
	case <-b.done:
		b.abort()
		return nil
	case <-ctx.Done():
		b.abort()
		return fmt.Errorf("onnx: batcher close: %w", ctx.Err())
	}
}

func (b *Batcher[In, Out]) loop() {
	for {
		batch, ok := b.next()
		if !ok {
			return
		}
		if batch != nil {
			b.run(batch)
		}
	}
}

// next collects the next batch; nil with ok when its first item's caller
// had gone, !ok once closed and drained. Workers collect one at a time, so
// a second worker gathers the batch after the one being run instead of
// splitting the current one in two.
func (b *Batcher[In, Out]) next() (batch []*request[In, Out], ok bool) {
	b.collectMu.Lock()
	defer b.collectMu.Unlock()
	select {
	case first := <-b.queue:
		if first.ctx.Err() != nil {
			b.opts.metrics.ObserveBatch(BatchStats{Skipped: 1})
			return nil, true
		}
		return b.collect(first, true), true
	case <-b.quit:
	}
	// Closing: run what was queued before Close; nothing can be added.
	select {
	case first := <-b.queue:
		return b.collect(first, false), true
	default:
		return nil, false
	}
}

// collect gathers a batch behind first: whatever is queued right away, then,
// if wait is set, what arrives until first has waited maxWait.
func (b *Batcher[In, Out]) collect(first *request[In, Out], wait bool) []*request[In, Out] {
	batch := make([]*request[In, Out], 1, b.opts.maxBatch)
	batch[0] = first
	var timeout <-chan time.Time
	if d := b.opts.maxWait - time.Since(first.start); wait && d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	for len(batch) < b.opts.maxBatch {
		select {
		case r := <-b.queue:
			batch = append(batch, r)
			continue
		default:
		}
		if timeout == nil {
			break
		}
		select {
		case r := <-b.queue:
			batch = append(batch, r)
		case <-timeout:
			timeout = nil
		case <-b.quit:
			// Closing: nothing more will arrive, so stop waiting.
			timeout = nil
		}
	}
	return batch
}

// run calls the batch function for the items whose callers are still
// waiting and hands each caller its outcome.
func (b *Batcher[In, Out]) run(batch []*request[In, Out]) {
	b.opts.metrics.ObserveQueueDepth(len(b.queue))
	live := batch[:0]
	for _, r := range batch {
		if r.ctx.Err() == nil {
			live = append(live, r)
		}
	}
	skipped := len(batch) - len(live)
	if len(live) == 0 {
		b.opts.metrics.ObserveBatch(BatchStats{Skipped: skipped})
		return
	}
	start := time.Now()
	if b.base.Err() != nil {
		// Close gave up: fail fast instead of running work nobody awaits.
		b.deliver(live, start, nil, fmt.Errorf("onnx: batcher %w before this item ran", ErrClosed))
		return
	}

	// The batch's context ends when all its callers have gone, so a model
	// run nobody waits for can be abandoned.
	ctx, cancel := context.WithCancel(b.base)
	defer cancel()
	var waiting atomic.Int64
	waiting.Store(int64(len(live)))
	items := make([]In, len(live))
	stops := make([]func() bool, len(live))
	for i, r := range live {
		items[i] = r.item
		stops[i] = context.AfterFunc(r.ctx, func() {
			if waiting.Add(-1) == 0 {
				cancel()
			}
		})
	}
	outs, err := b.call(ctx, items)
	took := time.Since(start)
	for _, stop := range stops {
		stop()
	}
	b.opts.metrics.ObserveBatch(BatchStats{Size: len(live), Skipped: skipped, Duration: took, Err: err})

	if err == nil && len(outs) != len(items) {
		err = fmt.Errorf("onnx: batcher: %w: %d results for %d items", ErrBatchFunc, len(outs), len(items))
	}
	var partial *PartialError
	if errors.As(err, &partial) && len(partial.Errs) == len(items) && len(outs) == len(items) {
		for i, r := range live {
			r.res <- result[Out]{out: outs[i], err: partial.Errs[i], wait: start.Sub(r.start)}
		}
		return
	}
	b.deliver(live, start, outs, err)
}

func (b *Batcher[In, Out]) deliver(live []*request[In, Out], start time.Time, outs []Out, err error) {
	for i, r := range live {
		res := result[Out]{err: err, wait: start.Sub(r.start)}
		if err == nil {
			res.out = outs[i]
		}
		r.res <- res
	}
}

// call runs the batch function, turning a panic into an error for the
// batch's callers: the worker goroutine must survive, or every later Submit
// would wait forever.
func (b *Batcher[In, Out]) call(ctx context.Context, items []In) (outs []Out, err error) {
	defer func() {
		if p := recover(); p != nil {
			b.opts.logger.ErrorContext(ctx, "onnx: batch function panicked", "panic", p, "stack", string(debug.Stack()))
			outs, err = nil, fmt.Errorf("onnx: batcher: %w: panic: %v", ErrBatchFunc, p)
		}
	}()
	return b.fn(ctx, items)
}
