package ingest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/records"
)

// memIndexes is an in-memory IndexStore over a catalog of products rows.
// It keeps which indexes exist and logs every drop and build that changed
// something, and each load (a writer call, through loggedWriter), in order.
// A build with an ended context fails, as a database call would.
type memIndexes struct {
	mu       sync.Mutex
	products int64
	exists   map[string]bool
	events   []string
	buildErr error
}

func (m *memIndexes) log(e string) {
	if n := len(m.events); n > 0 && m.events[n-1] == e {
		return // one "load" for consecutive batches
	}
	m.events = append(m.events, e)
}

func (m *memIndexes) CountProducts(context.Context) (int64, error) { return m.products, nil }

func (m *memIndexes) drop(name string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	existed := m.exists[name]
	if existed {
		m.log("drop " + name)
	}
	delete(m.exists, name)
	return existed, nil
}

func (m *memIndexes) build(ctx context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	if m.buildErr != nil {
		return m.buildErr
	}
	if !m.exists[name] {
		m.log("build " + name)
	}
	m.exists[name] = true
	return nil
}

func (m *memIndexes) DropModelIndex(_ context.Context, model string) (bool, error) {
	return m.drop("model " + model)
}

func (m *memIndexes) DropSpaceIndex(_ context.Context, version int) (bool, error) {
	return m.drop(fmt.Sprint("space ", version))
}

func (m *memIndexes) EnsureModelIndex(ctx context.Context, model string, _ int) error {
	return m.build(ctx, "model "+model)
}

func (m *memIndexes) BuildSpaceIndex(ctx context.Context, version int) error {
	return m.build(ctx, fmt.Sprint("space ", version))
}

// loggedWriter logs each load into ix's events.
type loggedWriter struct {
	*memWriter
	ix *memIndexes
}

func (w loggedWriter) UpsertProducts(ctx context.Context, ps []catalog.Product) ([]records.UpsertResult, error) {
	w.ix.mu.Lock()
	w.ix.log("load")
	w.ix.mu.Unlock()
	return w.memWriter.UpsertProducts(ctx, ps)
}

var errBuild = errors.New("index build failed")

// TestRunDefersIndexes runs loads with the indexes deferred or not, and
// checks the order of drops, loads and builds: a small catalog's indexes
// are dropped before the load and built after it, also after a failure,
// rejected rows or an ended context; a large catalog's stay live, and any
// that an interrupted run left missing are built before the load.
func TestRunDefersIndexes(t *testing.T) {
	all := []string{"space 7", "model text@1", "model image@1"}
	dropAll := []string{"drop space 7", "drop model text@1", "drop model image@1"}
	buildAll := []string{"build space 7", "build model text@1", "build model image@1"}
	seq := func(parts ...[]string) []string { return slices.Concat(parts...) }
	load := []string{"load"}
	for _, c := range []struct {
		name     string
		products int64
		below    int64
		missing  []string // indexes missing when the run starts
		data     []string
		failOn   string
		cancel   bool // ctx ends after the first batch
		enqueue  bool
		buildErr error
		want     []string
		wantErr  error
	}{
		{name: "empty catalog", below: 10, want: seq(dropAll, load, buildAll)},
		{name: "small catalog", products: 9, below: 10, want: seq(dropAll, load, buildAll)},
		{name: "small catalog, an index already missing", products: 9, below: 10, missing: []string{"model image@1"},
			want: seq(dropAll[:2], load, buildAll)},
		{name: "large catalog keeps them live", products: 10, below: 10, want: load},
		{name: "deferral off", products: 0, below: 0, want: load},
		{name: "large catalog builds what a crash left missing first", products: 10, below: 10, missing: []string{"space 7", "model text@1"},
			want: seq(buildAll[:2], load)},
		{name: "built after rejected rows", below: 10, data: []string{`{"id":"b","title":"refuse"}`}, want: seq(dropAll, load, buildAll)},
		{name: "built after a database failure", below: 10, failOn: "p1", want: seq(dropAll, load, buildAll), wantErr: errDown},
		{name: "built after the context ended", below: 10, cancel: true, want: seq(dropAll, load, buildAll), wantErr: context.Canceled},
		{name: "a failed build fails the run", below: 10, buildErr: errBuild, want: seq(dropAll, load), wantErr: errBuild},
		{name: "queueing writes no vectors", below: 10, enqueue: true, want: load},
	} {
		t.Run(c.name, func(t *testing.T) {
			ix := &memIndexes{products: c.products, exists: map[string]bool{}, buildErr: c.buildErr}
			for _, name := range all {
				ix.exists[name] = !slices.Contains(c.missing, name)
			}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			o := Options{Space: records.Space{Version: 7}, Writer: loggedWriter{&memWriter{stored: map[string]string{}, failOn: c.failOn}, ix},
				Indexer: &memIndexer{titles: map[string][]string{}}, BatchSize: 1, Concurrency: 1,
				DeferIndexes: IndexDeferral{Store: ix, Below: c.below, Models: []ModelIndex{{"text@1", 100}, {"image@1", 64}}}}
			if c.cancel {
				o.Progress = func(int) { cancel() }
			}
			if c.enqueue {
				o.Enqueue = func(_ context.Context, _ int, ids []string) (int, error) { return len(ids), nil }
			}
			var data []string
			for i := range 4 {
				data = append(data, fmt.Sprintf(`{"id":"p%d","title":"T%d"}`, i, i))
			}
			rd, err := NewReader(strings.NewReader(strings.Join(append(data, c.data...), "\n")), JSONL, "")
			if err != nil {
				t.Fatal(err)
			}
			sum, err := Run(ctx, rd, o)
			if !errors.Is(err, c.wantErr) {
				t.Errorf("error %v, want %v", err, c.wantErr)
			}
			if !slices.Equal(ix.events, c.want) {
				t.Errorf("events\n%q\nwant\n%q", ix.events, c.want)
			}
			if c.data != nil && sum.Rejected != len(c.data) {
				t.Errorf("summary %+v, want %d rejected", sum, len(c.data))
			}
		})
	}
}
