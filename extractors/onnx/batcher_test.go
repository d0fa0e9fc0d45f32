package onnx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"
)

// recorder is a Metrics that keeps everything, for assertions.
type recorder struct {
	mu      sync.Mutex
	batches []BatchStats
	depths  []int
	items   []ItemStats
}

func (r *recorder) ObserveBatch(s BatchStats) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.batches = append(r.batches, s)
}

func (r *recorder) ObserveQueueDepth(d int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.depths = append(r.depths, d)
}

func (r *recorder) ObserveItem(s ItemStats) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.items = append(r.items, s)
}

// sizes lists the sizes of batches that actually ran.
func (r *recorder) sizes() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []int
	for _, b := range r.batches {
		if b.Size > 0 {
			out = append(out, b.Size)
		}
	}
	return out
}

func (r *recorder) skipped() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, b := range r.batches {
		n += b.Skipped
	}
	return n
}

func (r *recorder) itemErrs() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]error, len(r.items))
	for i, it := range r.items {
		out[i] = it.Err
	}
	return out
}

// waitFor polls cond, for conditions the API deliberately does not signal
// (how full the queue is).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// gate is a batch function that records its batches and blocks each call
// until the test lets it go (or its context ends).
type gate struct {
	entered chan []int    // receives each batch as the call starts
	release chan struct{} // one receive lets one call finish
	ctxDone chan error    // receives ctx.Err() when a call saw its context end
}

func newGate() *gate {
	return &gate{entered: make(chan []int, 100), release: make(chan struct{}), ctxDone: make(chan error, 100)}
}

func (g *gate) fn(ctx context.Context, items []int) ([]int, error) {
	g.entered <- slices.Clone(items)
	select {
	case <-g.release:
	case <-ctx.Done():
		g.ctxDone <- ctx.Err()
		return nil, ctx.Err()
	}
	out := make([]int, len(items))
	for i, v := range items {
		out[i] = v * 10
	}
	return out, nil
}

func (g *gate) waitEntered(t *testing.T) []int {
	t.Helper()
	select {
	case b := <-g.entered:
		return b
	case <-time.After(10 * time.Second):
		t.Fatal("batch function not called")
		return nil
	}
}

type outcome struct {
	v   int
	err error
}

func submitAsync(ctx context.Context, b *Batcher[int, int], v int) <-chan outcome {
	ch := make(chan outcome, 1)
	go func() {
		out, err := b.Submit(ctx, v)
		ch <- outcome{out, err}
	}()
	return ch
}

func wait(t *testing.T, ch <-chan outcome) outcome {
	t.Helper()
	select {
	case o := <-ch:
		return o
	case <-time.After(10 * time.Second):
		t.Fatal("Submit did not return")
		return outcome{}
	}
}

func closeBatcher[In, Out any](t *testing.T, b *Batcher[In, Out]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// Sixteen concurrent callers of the real model share a few batches and each
// gets what a single run of its own image gives.
func TestBatcherCoalescesConcurrentCallers(t *testing.T) {
	for _, workers := range []int{1, 2} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) { testCoalesce(t, workers) })
	}
}

// testCoalesce: concurrent callers are coalesced into few batches, also
// with a second worker (which must not split the batch being gathered).
func testCoalesce(t *testing.T, workers int) {
	ctx := context.Background()
	const callers = 16
	var rec recorder
	b, err := NewBatcher(shared.mobile.BatchFunc(), WithMaxBatch(callers), WithMaxWait(200*time.Millisecond),
		WithMetrics(&rec), WithWorkers(workers))
	if err != nil {
		t.Fatal(err)
	}
	defer closeBatcher(t, b)

	images := make([]Tensor, callers)
	want := make([][]float32, callers)
	for i := range images {
		images[i] = gradientImage(i)
		out, err := shared.mobile.Run(ctx, []Tensor{images[i]})
		if err != nil {
			t.Fatal(err)
		}
		want[i] = out[0].Float32s()
	}

	got := make([][]Tensor, callers)
	errs := make([]error, callers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			<-start
			got[i], errs[i] = b.Submit(ctx, []Tensor{images[i]})
		})
	}
	close(start)
	wg.Wait()

	for i := range callers {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if s := got[i][0].Shape(); !slices.Equal(s, []int64{1, 1000}) {
			t.Fatalf("caller %d: output shape %v, want [1 1000]", i, s)
		}
		if d := maxAbsDiff(got[i][0].Float32s(), want[i]); d > 1e-4 {
			t.Errorf("caller %d: batched result differs from its single run by %g", i, d)
		}
	}
	sizes := rec.sizes()
	total := 0
	for _, s := range sizes {
		total += s
	}
	t.Logf("batch sizes: %v", sizes)
	if total != callers {
		t.Fatalf("batches %v hold %d items, want %d", sizes, total, callers)
	}
	if len(sizes) >= callers || slices.Max(sizes) < 2 {
		t.Errorf("batch sizes %v: %d callers were not coalesced", sizes, callers)
	}
	if n := len(rec.itemErrs()); n != callers {
		t.Errorf("ObserveItem called %d times, want %d", n, callers)
	}
}

func TestBatcherOverloaded(t *testing.T) {
	ctx := context.Background()
	g := newGate()
	var rec recorder
	b, err := NewBatcher(g.fn, WithMaxBatch(1), WithMaxWait(0), WithQueueSize(2), WithMetrics(&rec))
	if err != nil {
		t.Fatal(err)
	}
	defer closeBatcher(t, b)

	running := submitAsync(ctx, b, 1)
	g.waitEntered(t) // the worker holds item 1; the queue is empty
	queued := []<-chan outcome{submitAsync(ctx, b, 2), submitAsync(ctx, b, 3)}
	waitFor(t, "two queued items", func() bool { return b.QueueDepth() == 2 })

	start := time.Now()
	_, err = b.Submit(ctx, 4)
	if !errors.Is(err, ErrOverloaded) {
		t.Fatalf("Submit on a full queue = %v, want ErrOverloaded", err)
	}
	// Generous bound for a loaded CI machine; a Submit that waited for
	// room would block until the gate opens, which never happens here.
	if took := time.Since(start); took > time.Second {
		t.Errorf("ErrOverloaded took %v, want it at once", took)
	}

	for range 3 {
		g.release <- struct{}{}
	}
	for i, ch := range append([]<-chan outcome{running}, queued...) {
		if o := wait(t, ch); o.err != nil || o.v != (i+1)*10 {
			t.Errorf("item %d: got %d, %v; want %d", i+1, o.v, o.err, (i+1)*10)
		}
	}
	if !slices.ContainsFunc(rec.itemErrs(), func(err error) bool { return errors.Is(err, ErrOverloaded) }) {
		t.Error("ObserveItem did not see the ErrOverloaded")
	}
	rec.mu.Lock()
	sawTwo := slices.Contains(rec.depths, 2)
	rec.mu.Unlock()
	if !sawTwo {
		t.Error("ObserveQueueDepth never reported the full queue of 2")
	}
}

func TestBatcherCancellation(t *testing.T) {
	t.Run("done before submit", func(t *testing.T) {
		g := newGate()
		b, err := NewBatcher(g.fn)
		if err != nil {
			t.Fatal(err)
		}
		defer closeBatcher(t, b)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := b.Submit(ctx, 1); !errors.Is(err, context.Canceled) {
			t.Fatalf("Submit = %v, want context.Canceled", err)
		}
		select {
		case items := <-g.entered:
			t.Fatalf("batch function ran %v for a cancelled caller", items)
		default:
		}
	})

	t.Run("queued item is skipped", func(t *testing.T) {
		g := newGate()
		var rec recorder
		b, err := NewBatcher(g.fn, WithMaxBatch(4), WithMaxWait(0), WithMetrics(&rec))
		if err != nil {
			t.Fatal(err)
		}
		defer closeBatcher(t, b)
		ctx := context.Background()
		first := submitAsync(ctx, b, 1)
		if got := g.waitEntered(t); !slices.Equal(got, []int{1}) {
			t.Fatalf("first batch %v, want [1]", got)
		}
		cctx, cancel := context.WithCancel(ctx)
		gone := submitAsync(cctx, b, 2)
		waitFor(t, "item 2 queued", func() bool { return b.QueueDepth() == 1 })
		start := time.Now()
		cancel()
		if o := wait(t, gone); !errors.Is(o.err, context.Canceled) {
			t.Fatalf("cancelled caller got %d, %v; want context.Canceled", o.v, o.err)
		}
		if took := time.Since(start); took > time.Second {
			t.Errorf("cancelled caller returned after %v, want promptly", took)
		}
		g.release <- struct{}{}
		if o := wait(t, first); o.err != nil || o.v != 10 {
			t.Fatalf("first caller got %d, %v", o.v, o.err)
		}
		third := submitAsync(ctx, b, 3)
		if got := g.waitEntered(t); !slices.Equal(got, []int{3}) {
			t.Fatalf("next batch %v, want [3]: the cancelled item 2 must be skipped", got)
		}
		g.release <- struct{}{}
		if o := wait(t, third); o.err != nil || o.v != 30 {
			t.Fatalf("third caller got %d, %v", o.v, o.err)
		}
		if n := rec.skipped(); n != 1 {
			t.Errorf("metrics report %d skipped items, want 1", n)
		}
	})

	t.Run("running batch abandoned when its callers leave", func(t *testing.T) {
		g := newGate()
		b, err := NewBatcher(g.fn, WithMaxBatch(1), WithMaxWait(0))
		if err != nil {
			t.Fatal(err)
		}
		defer closeBatcher(t, b)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		if _, err := b.Submit(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Submit = %v, want context.DeadlineExceeded", err)
		}
		if took := time.Since(start); took > time.Second {
			t.Errorf("Submit returned after %v, want soon after the 50ms deadline", took)
		}
		select {
		case err := <-g.ctxDone:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("batch context ended with %v, want context.Canceled", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("batch context not cancelled after its only caller left")
		}
	})
}

func TestBatcherCloseDrains(t *testing.T) {
	g := newGate()
	b, err := NewBatcher(g.fn, WithMaxBatch(2), WithMaxWait(0))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	results := []<-chan outcome{submitAsync(ctx, b, 1)}
	g.waitEntered(t)
	for v := 2; v <= 6; v++ {
		results = append(results, submitAsync(ctx, b, v))
	}
	waitFor(t, "five queued items", func() bool { return b.QueueDepth() == 5 })

	closed := make(chan error, 1)
	go func() { closed <- b.Close(ctx) }()
	waitFor(t, "Close to stop intake", func() bool {
		b.mu.RLock()
		defer b.mu.RUnlock()
		return b.closed
	})
	if _, err := b.Submit(ctx, 7); !errors.Is(err, ErrClosed) {
		t.Fatalf("Submit after Close = %v, want ErrClosed", err)
	}
	// 1 runs alone, then the five queued items drain in batches of two.
	go func() {
		for range 4 {
			g.release <- struct{}{}
		}
	}()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return after draining")
	}
	for i, ch := range results {
		if o := wait(t, ch); o.err != nil || o.v != (i+1)*10 {
			t.Errorf("item %d: got %d, %v; want %d", i+1, o.v, o.err, (i+1)*10)
		}
	}
	if err := b.Close(ctx); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
}

func TestBatcherCloseTimeout(t *testing.T) {
	g := newGate()
	b, err := NewBatcher(g.fn, WithMaxBatch(1), WithMaxWait(0))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	running := submitAsync(ctx, b, 1)
	g.waitEntered(t)
	queued := submitAsync(ctx, b, 2)
	waitFor(t, "item 2 queued", func() bool { return b.QueueDepth() == 1 })

	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := b.Close(cctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v, want context.DeadlineExceeded", err)
	}
	if o := wait(t, running); !errors.Is(o.err, context.Canceled) {
		t.Errorf("running item: %v, want the batch's cancelled context", o.err)
	}
	if o := wait(t, queued); !errors.Is(o.err, ErrClosed) {
		t.Errorf("queued item: %v, want ErrClosed", o.err)
	}
}

func TestBatcherBatchFuncFailures(t *testing.T) {
	errBoom := errors.New("boom")
	tests := []struct {
		name string
		fn   BatchFunc[int, int]
		want func(item int) error // nil: want success with item*2
	}{
		{
			name: "error fails every item",
			fn:   func(context.Context, []int) ([]int, error) { return nil, errBoom },
			want: func(int) error { return errBoom },
		},
		{
			name: "partial error fails only its items",
			fn: func(_ context.Context, items []int) ([]int, error) {
				out := make([]int, len(items))
				errs := make([]error, len(items))
				for i, v := range items {
					if v%2 == 1 {
						errs[i] = fmt.Errorf("odd %d: %w", v, errBoom)
						continue
					}
					out[i] = v * 2
				}
				return out, &PartialError{Errs: errs}
			},
			want: func(v int) error {
				if v%2 == 1 {
					return errBoom
				}
				return nil
			},
		},
		{
			name: "wrong result count",
			fn:   func(_ context.Context, items []int) ([]int, error) { return make([]int, len(items)+1), nil },
			want: func(int) error { return ErrBatchFunc },
		},
		{
			name: "panic",
			fn:   func(context.Context, []int) ([]int, error) { panic("kaboom") },
			want: func(int) error { return ErrBatchFunc },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := NewBatcher(tc.fn, WithMaxBatch(4), WithMaxWait(100*time.Millisecond), WithBatcherLogger(slog.New(slog.DiscardHandler)))
			if err != nil {
				t.Fatal(err)
			}
			defer closeBatcher(t, b)
			// Twice: the worker must survive a failing batch.
			for round := range 2 {
				var wg sync.WaitGroup
				for v := 1; v <= 4; v++ {
					wg.Go(func() {
						got, err := b.Submit(context.Background(), v)
						want := tc.want(v)
						switch {
						case want == nil && (err != nil || got != v*2):
							t.Errorf("round %d item %d: got %d, %v; want %d", round, v, got, err, v*2)
						case want != nil && !errors.Is(err, want):
							t.Errorf("round %d item %d: got %d, %v; want %v", round, v, got, err, want)
						}
					})
				}
				wg.Wait()
			}
		})
	}
}

// One malformed request in a batch of real images fails alone.
func TestBatcherSessionInvalidItem(t *testing.T) {
	var rec recorder
	b, err := NewBatcher(shared.mobile.BatchFunc(), WithMaxBatch(3), WithMaxWait(time.Second), WithMetrics(&rec))
	if err != nil {
		t.Fatal(err)
	}
	defer closeBatcher(t, b)
	items := [][]Tensor{
		{grayImage(1, 0.5)},
		{Float32Tensor([]int64{1, 3, 224, 225}, make([]float32, 3*224*225))},
		{gradientImage(3)},
	}
	var wg sync.WaitGroup
	outs := make([][]Tensor, len(items))
	errs := make([]error, len(items))
	for i := range items {
		wg.Go(func() { outs[i], errs[i] = b.Submit(context.Background(), items[i]) })
	}
	wg.Wait()
	if sizes := rec.sizes(); !slices.Equal(sizes, []int{3}) {
		t.Fatalf("batch sizes %v, want the three items in one batch", sizes)
	}
	var ie *InputError
	if !errors.As(errs[1], &ie) || !errors.Is(errs[1], ErrInvalidInput) {
		t.Errorf("malformed item: %v, want an *InputError", errs[1])
	}
	for _, i := range []int{0, 2} {
		if errs[i] != nil {
			t.Errorf("item %d failed with its malformed neighbour: %v", i, errs[i])
			continue
		}
		if s := outs[i][0].Shape(); !slices.Equal(s, []int64{1, 1000}) {
			t.Errorf("item %d: output shape %v", i, s)
		}
	}
}

func TestNewBatcherInvalidOptions(t *testing.T) {
	fn := func(_ context.Context, items []int) ([]int, error) { return items, nil }
	tests := []struct {
		name string
		fn   BatchFunc[int, int]
		opts []BatcherOption
	}{
		{"nil function", nil, nil},
		{"max batch 0", fn, []BatcherOption{WithMaxBatch(0)}},
		{"negative wait", fn, []BatcherOption{WithMaxWait(-time.Millisecond)}},
		{"queue 0", fn, []BatcherOption{WithQueueSize(0)}},
		{"nil metrics", fn, []BatcherOption{WithMetrics(nil)}},
		{"nil logger", fn, []BatcherOption{WithBatcherLogger(nil)}},
		{"workers 0", fn, []BatcherOption{WithWorkers(0)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := NewBatcher(tc.fn, tc.opts...)
			if !errors.Is(err, ErrInvalidOption) {
				if b != nil {
					closeBatcher(t, b)
				}
				t.Fatalf("NewBatcher = %v, want ErrInvalidOption", err)
			}
		})
	}
}

// TestBatcherWorkersOverlap: with two workers a second batch starts while
// the first is still running (with one it waits), and Close drains both.
func TestBatcherWorkersOverlap(t *testing.T) {
	for _, tc := range []struct {
		workers int
		overlap bool
	}{{1, false}, {2, true}} {
		t.Run(fmt.Sprintf("workers=%d", tc.workers), func(t *testing.T) {
			started := make(chan int, 2)
			release := make(chan struct{})
			fn := func(_ context.Context, items []int) ([]int, error) {
				started <- items[0]
				<-release
				return items, nil
			}
			b, err := NewBatcher(fn, WithMaxBatch(1), WithMaxWait(0), WithWorkers(tc.workers))
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			for i := range 2 {
				wg.Go(func() {
					if out, err := b.Submit(t.Context(), i); err != nil || out != i {
						t.Errorf("Submit(%d) = %d, %v", i, out, err)
					}
				})
			}
			<-started
			select {
			case <-started:
				if !tc.overlap {
					t.Error("a second batch started while the first ran, with one worker")
				}
			case <-time.After(200 * time.Millisecond):
				if tc.overlap {
					t.Error("the second batch did not start while the first ran, with two workers")
				}
			}
			close(release)
			wg.Wait()
			closeBatcher(t, b)
		})
	}
}
