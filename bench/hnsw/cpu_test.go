package hnsw

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// fakeProc is a /proc of processes named comm whose utime+stime the test
// sets.
type fakeProc struct {
	t    *testing.T
	root string
}

func (p fakeProc) set(pid int, comm string, ticks int64) {
	dir := filepath.Join(p.root, strconv.Itoa(pid))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		p.t.Fatal(err)
	}
	stat := fmt.Sprintf("%d (%s) S 1 1 1 0 -1 0 0 0 0 0 %d 0 0 0 20 0 1 0 1 1 1\n", pid, comm, ticks)
	if err := errors.Join(os.WriteFile(filepath.Join(dir, "comm"), []byte(comm+"\n"), 0o644),
		os.WriteFile(filepath.Join(dir, "stat"), []byte(stat), 0o644)); err != nil {
		p.t.Fatal(err)
	}
}

// scriptedBackends answers each call with the next list of process ids.
type scriptedBackends struct{ calls [][]int }

func (s *scriptedBackends) IndexBuildBackends(context.Context) ([]int, error) {
	if len(s.calls) == 0 {
		return nil, nil
	}
	pids := s.calls[0]
	s.calls = s.calls[1:]
	return pids, nil
}

// TestCPUMeter: the backend's time before the build is subtracted, a
// worker that exits counts up to its last sample, and processes that are
// not PostgreSQL's make the figure unavailable.
func TestCPUMeter(t *testing.T) {
	proc := fakeProc{t, t.TempDir()}
	proc.set(10, "postgres", 500) // a pooled backend that served queries
	proc.set(11, "bash", 70)      // not a builder
	list := &scriptedBackends{calls: [][]int{{10}, {10, 20}, {10, 20}, {10}}}
	m := newCPUMeter(list, time.Millisecond, proc.root)
	steps := []func(){
		func() { proc.set(10, "postgres", 530) },
		func() { proc.set(20, "postgres", 40) },
		func() { proc.set(10, "postgres", 590); proc.set(20, "postgres", 90) },
		func() { proc.set(10, "postgres", 650); os.RemoveAll(filepath.Join(proc.root, "20")) },
	}
	ctx := t.Context()
	for _, step := range steps {
		step()
		if err := m.sample(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := m.seconds(); got != 2.4 { // (650-500 + 90) ticks
		t.Errorf("seconds = %v, want 2.4", got)
	}

	list = &scriptedBackends{calls: [][]int{{11}}}
	buildErr := errors.New("build failed")
	gotBuild, cpuErr := newCPUMeter(list, time.Millisecond, proc.root).measure(ctx, func() error { return buildErr })
	if !errors.Is(gotBuild, buildErr) || !errors.Is(cpuErr, errNotLocal) {
		t.Errorf("measure: build %v, cpu %v; want the build's error and errNotLocal", gotBuild, cpuErr)
	}
}
