package onnx

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	ort "github.com/yalue/onnxruntime_go"
)

// BenchmarkMobileNet compares, per batch size, the bare binding (an
// AdvancedSession with pre-allocated tensors, the floor), Session.Run (one
// call with a whole batch: input checks, a cancellable context, output
// copies) and the Batcher (N concurrent single-image callers coalesced into
// one batch: queueing, Concat, Split). All three run the same model with
// the same thread settings in the same process; compare their items/s.
func BenchmarkMobileNet(b *testing.B) {
	for _, n := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			b.Run("bare", func(b *testing.B) { benchBare(b, n) })
			b.Run("session", func(b *testing.B) { benchSession(b, n) })
			b.Run("batcher", func(b *testing.B) { benchBatcher(b, n) })
		})
	}
}

// warmups is how many untimed runs each path gets first: a fresh ORT
// session plans memory and grows its arena over its first runs.
const warmups = 3

func reportItems(b *testing.B, n int) {
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "items/s")
}

func benchBare(b *testing.B, n int) {
	in, err := ort.NewTensor(ort.NewShape(int64(n), 3, side, side), grayImage(n, 0.5).Float32s())
	if err != nil {
		b.Fatal(err)
	}
	defer in.Destroy()
	out, err := ort.NewEmptyTensor[float32](ort.NewShape(int64(n), 1000))
	if err != nil {
		b.Fatal(err)
	}
	defer out.Destroy()
	so, err := shared.rt.sessionOptions()
	if err != nil {
		b.Fatal(err)
	}
	defer so.Destroy()
	s, err := ort.NewAdvancedSession(shared.model, []string{"input"}, []string{"output"}, []ort.Value{in}, []ort.Value{out}, so)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Destroy()
	for range warmups {
		if err := s.Run(); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		if err := s.Run(); err != nil {
			b.Fatal(err)
		}
	}
	reportItems(b, n)
}

func benchSession(b *testing.B, n int) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	in := []Tensor{grayImage(n, 0.5)}
	for range warmups {
		if _, err := shared.mobile.Run(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		if _, err := shared.mobile.Run(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
	reportItems(b, n)
}

func benchBatcher(b *testing.B, n int) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var rec recorder
	bt, err := NewBatcher(shared.mobile.BatchFunc(), WithMaxBatch(n), WithMaxWait(5*time.Millisecond), WithMetrics(&rec))
	if err != nil {
		b.Fatal(err)
	}
	defer bt.Close(ctx)
	items := make([][]Tensor, n)
	for i := range items {
		items[i] = []Tensor{grayImage(1, 0.5)}
	}
	round := func() {
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				if _, err := bt.Submit(ctx, items[i]); err != nil {
					b.Error(err)
				}
			})
		}
		wg.Wait()
	}
	for range warmups {
		round()
	}
	rec.mu.Lock()
	rec.batches = nil
	rec.mu.Unlock()
	b.ResetTimer()
	for range b.N {
		round()
	}
	b.StopTimer()
	reportItems(b, n)
	sizes := rec.sizes()
	total := 0
	for _, s := range sizes {
		total += s
	}
	b.ReportMetric(float64(total)/float64(len(sizes)), "items/batch")
}
