package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/indexer"
	"github.com/vitrinehq/vitrine/records"
)

// memWriter is an in-memory ProductWriter: it refuses products titled
// "refuse" and fails as a whole on an id in failOn.
type memWriter struct {
	mu     sync.Mutex
	stored map[string]string // id -> title
	failOn string
}

var errDown = errors.New("database down")

func (w *memWriter) UpsertProducts(_ context.Context, ps []catalog.Product) ([]records.UpsertResult, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]records.UpsertResult, len(ps))
	for i, p := range ps {
		if p.ID == w.failOn {
			return nil, errDown
		}
		out[i].ID = p.ID
		switch old, ok := w.stored[p.ID]; {
		case p.Title == "refuse":
			out[i].Status, out[i].Err = records.Failed, errors.New("refused")
			continue
		case !ok:
			out[i].Status = records.Inserted
		case old == p.Title:
			out[i].Status = records.Unchanged
		default:
			out[i].Status = records.Updated
		}
		w.stored[p.ID] = p.Title
	}
	return out, nil
}

// memIndexer is an in-memory Indexer. It records the titles it indexed
// per id (in call order) and how many calls overlapped at most; gate, when
// set, holds every call until gate is closed, and calls reports each call's
// arrival. Products titled "no-media" are rejected, "partial" get a
// warning.
type memIndexer struct {
	mu      sync.Mutex
	titles  map[string][]string
	active  int
	maxSeen int
	gate    chan struct{}
	calls   chan int
}

func (ix *memIndexer) Index(ctx context.Context, _ records.Space, ps []catalog.Product) ([]indexer.Result, indexer.Stats, error) {
	ix.mu.Lock()
	ix.active++
	ix.maxSeen = max(ix.maxSeen, ix.active)
	n := ix.active
	ix.mu.Unlock()
	if ix.calls != nil {
		ix.calls <- n
	}
	if ix.gate != nil {
		select {
		case <-ix.gate:
		case <-ctx.Done():
			return nil, indexer.Stats{}, ctx.Err()
		}
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.active--
	res := make([]indexer.Result, len(ps))
	for i, p := range ps {
		res[i] = indexer.Result{ProductID: p.ID, Outcome: indexer.Indexed}
		switch p.Title {
		case "no-media":
			res[i].Outcome, res[i].Err = indexer.Rejected, errors.New("no modality")
		case "partial":
			res[i].Warnings = []string{"image: unreadable"}
		}
		ix.titles[p.ID] = append(ix.titles[p.ID], p.Title)
	}
	return res, indexer.Stats{Encoded: map[string]int{"m@1": len(ps)}}, nil
}

func lines(ls ...string) []byte { return []byte(strings.Join(ls, "\n") + "\n") }

func runJSONL(t *testing.T, data []byte, o Options) (Summary, string, error) {
	t.Helper()
	rd, err := NewReader(bytes.NewReader(data), JSONL, "")
	if err != nil {
		t.Fatal(err)
	}
	var rej bytes.Buffer
	o.Rejects = &rej
	sum, err := Run(t.Context(), rd, o)
	return sum, rej.String(), err
}

// TestRunPipelineKeepsCatalogOrder ingests a catalog with every kind of
// reject at each pipeline depth and batch size and checks that counts,
// rejects (in catalog order) and what got indexed are the same as one
// batch at a time.
func TestRunPipelineKeepsCatalogOrder(t *testing.T) {
	data := lines(
		`{"id":"a","title":"A"}`,
		`{"id":"b","title":"refuse"}`,
		`not json`,
		`{"id":"c","title":"no-media"}`,
		`{"id":"a","title":"A2"}`,
		`{"id":"d","title":"partial"}`,
		`{"id":"e","title":"E"}`,
		`{"title":"no id"}`,
		`{"id":"f","title":"F"}`,
		`{"id":"e","title":"E2"}`,
	)
	for _, size := range []int{1, 2, 3, 4, 100} {
		// Partitions differ by batch size (a duplicate within a batch is a
		// reject, across batches an update), so the reference is each
		// batch size's run one batch at a time.
		var want string
		var wantSum Summary
		for _, depth := range []int{1, 2, 3} {
			t.Run(fmt.Sprintf("batch %d depth %d", size, depth), func(t *testing.T) {
				sum, rejects := runOrdered(t, data, size, depth)
				if depth == 1 {
					want, wantSum = rejects, sum
					return
				}
				if rejects != want || fmt.Sprint(sum) != fmt.Sprint(wantSum) {
					t.Errorf("differs from one batch at a time:\n%+v\n%s\nwant\n%+v\n%s", sum, rejects, wantSum, want)
				}
			})
		}
		if size == 100 && (wantSum.Rejected != 6 || wantSum.Warnings != 1 || wantSum.Indexed != 4 || wantSum.Inserted != 5) {
			t.Errorf("one batch: %+v", wantSum)
		}
	}
}

// runOrdered runs data at one batch size and depth and checks what holds
// at any: every row counted, progress rising to it, the last row of each id
// stored and indexed last, and no more batches in the indexer than depth.
func runOrdered(t *testing.T, data []byte, size, depth int) (Summary, string) {
	t.Helper()
	w := &memWriter{stored: map[string]string{}}
	ix := &memIndexer{titles: map[string][]string{}}
	var progress []int
	sum, rejects, err := runJSONL(t, data, Options{Writer: w, Indexer: ix, BatchSize: size, Concurrency: depth,
		Progress: func(rows int) { progress = append(progress, rows) }})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Rows != 10 || progress[len(progress)-1] != 10 {
		t.Errorf("rows %d, progress %v; want 10 rows", sum.Rows, progress)
	}
	for i := 1; i < len(progress); i++ {
		if progress[i] < progress[i-1] {
			t.Errorf("progress went back: %v", progress)
		}
	}
	last := func(id string) string { ts := ix.titles[id]; return ts[len(ts)-1] }
	if w.stored["a"] != "A2" || w.stored["e"] != "E2" || last("a") != "A2" || last("e") != "E2" {
		t.Errorf("stored %v, indexed %v", w.stored, ix.titles)
	}
	if ix.maxSeen > depth {
		t.Errorf("%d batches indexed at once, depth %d", ix.maxSeen, depth)
	}
	return sum, rejects
}

// TestRunOverlapsBatches holds the indexer until two batches are in it at
// once: with depth 2, which is also the default, the second batch is
// encoded while the first is still in the indexer (writing, in the real
// one).
func TestRunOverlapsBatches(t *testing.T) {
	for _, c := range []struct {
		name        string
		concurrency int
	}{
		{"depth 2", 2},
		{"default", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			gate, calls := make(chan struct{}), make(chan int, 8)
			ix := &memIndexer{titles: map[string][]string{}, gate: gate, calls: calls}
			go func() {
				for n := range calls {
					if n == 2 {
						close(gate)
						return
					}
				}
			}()
			var data []string
			for i := range 6 {
				data = append(data, fmt.Sprintf(`{"id":"p%d","title":"T%d"}`, i, i))
			}
			sum, _, err := runJSONL(t, lines(data...), Options{Writer: &memWriter{stored: map[string]string{}}, Indexer: ix,
				BatchSize: 2, Concurrency: c.concurrency})
			if err != nil || sum.Indexed != 6 || ix.maxSeen != 2 {
				t.Errorf("sum %+v, %v, at most %d batches at once; want 6 indexed, 2 at once", sum, err, ix.maxSeen)
			}
		})
	}
}

// TestRunSameIDNeverInFlightTwice holds the first batch in the indexer:
// the second batch repeats its id, so it must wait (not be indexed beside
// it) and land last.
func TestRunSameIDNeverInFlightTwice(t *testing.T) {
	gate, calls := make(chan struct{}), make(chan int, 8)
	ix := &memIndexer{titles: map[string][]string{}, gate: gate, calls: calls}
	go func() {
		<-calls
		close(gate)
	}()
	data := lines(`{"id":"x","title":"old"}`, `{"id":"x","title":"new"}`)
	w := &memWriter{stored: map[string]string{}}
	sum, _, err := runJSONL(t, data, Options{Writer: w, Indexer: ix, BatchSize: 1, Concurrency: 2})
	if err != nil || ix.maxSeen != 1 || w.stored["x"] != "new" || strings.Join(ix.titles["x"], ",") != "old,new" {
		t.Errorf("sum %+v, %v; %d at once; stored %v; indexed %v", sum, err, ix.maxSeen, w.stored, ix.titles)
	}
}

// TestRunStopsOnDatabaseFailure fails the store on the third batch: Run
// returns that error, keeps the batches before it and starts none after.
func TestRunStopsOnDatabaseFailure(t *testing.T) {
	var data []string
	for i := range 20 {
		data = append(data, fmt.Sprintf(`{"id":"p%02d","title":"T"}`, i))
	}
	w := &memWriter{stored: map[string]string{}, failOn: "p04"}
	ix := &memIndexer{titles: map[string][]string{}}
	sum, _, err := runJSONL(t, lines(data...), Options{Writer: w, Indexer: ix, BatchSize: 2, Concurrency: 2})
	if !errors.Is(err, errDown) {
		t.Fatalf("error %v, want the database's", err)
	}
	if sum.Inserted < 4 || sum.Inserted > 6 || ix.titles["p00"] == nil || ix.titles["p19"] != nil {
		t.Errorf("sum %+v, indexed %v: want the first two batches in, the last never started", sum, ix.titles)
	}
}

// TestRunEnqueues hands stored products to the queue instead of the
// indexer, through the same pipeline.
func TestRunEnqueues(t *testing.T) {
	var mu sync.Mutex
	var queued []string
	enq := func(_ context.Context, _ int, ids []string) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		queued = append(queued, ids...)
		return len(ids), nil
	}
	data := lines(`{"id":"a","title":"A"}`, `{"id":"b","title":"refuse"}`, `{"id":"c","title":"C"}`)
	sum, _, err := runJSONL(t, data, Options{Writer: &memWriter{stored: map[string]string{}}, Enqueue: enq, BatchSize: 1})
	if err != nil || sum.Enqueued != 2 || len(queued) != 2 || sum.Rejected != 1 {
		t.Errorf("sum %+v, %v, queued %v", sum, err, queued)
	}
}
