package hnsw

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/vitrinehq/vitrine/internal/procstat"
)

// errNotLocal: a builder's process is not a PostgreSQL process on this
// machine, so its CPU time cannot be read.
var errNotLocal = errors.New("index build processes are not on this machine")

// backendLister names the server processes building an index now.
type backendLister interface {
	IndexBuildBackends(ctx context.Context) ([]int, error)
}

// cpuMeter sums the CPU time (user and system) that the server processes
// of an index build (its backend and parallel workers) spend during it.
// It reads /proc, so it measures only a server on this machine. Each
// process's time before the build is subtracted (a pooled backend has
// served other queries), and workers, which exit with the build, count
// up to their last sample, so a build loses at most one interval a
// process.
type cpuMeter struct {
	list     backendLister
	interval time.Duration
	proc     string // the proc file system's root
	before   map[int]int64
	last     map[int]int64
}

// newCPUMeter snapshots the CPU time of every process now.
func newCPUMeter(list backendLister, interval time.Duration, proc string) *cpuMeter {
	m := &cpuMeter{list: list, interval: interval, proc: proc, before: map[int]int64{}, last: map[int]int64{}}
	entries, _ := os.ReadDir(proc)
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			if ticks, err := m.ticks(pid); err == nil {
				m.before[pid] = ticks
			}
		}
	}
	return m
}

// measure runs build while sampling its processes every interval and
// returns build's error and the CPU seconds, or errNotLocal (wrapped)
// when a builder's process cannot be read here.
func (m *cpuMeter) measure(ctx context.Context, build func() error) (buildErr, cpuErr error) {
	done := make(chan error, 1)
	go func() { done <- build() }()
	t := time.NewTicker(m.interval)
	defer t.Stop()
	for {
		if err := m.sample(ctx); err != nil && cpuErr == nil {
			cpuErr = err
		}
		select {
		case err := <-done:
			return err, cpuErr
		case <-t.C:
		}
	}
}

// sample reads the CPU time of each process building an index now.
func (m *cpuMeter) sample(ctx context.Context) error {
	pids, err := m.list.IndexBuildBackends(ctx)
	if err != nil {
		return err
	}
	for _, pid := range pids {
		ticks, err := m.ticks(pid)
		if err != nil {
			return err
		}
		m.last[pid] = max(m.last[pid], ticks)
	}
	return nil
}

// seconds is the CPU time the sampled processes spent since the snapshot.
func (m *cpuMeter) seconds() float64 {
	var ticks int64
	for pid, t := range m.last {
		ticks += t - m.before[pid]
	}
	return float64(ticks) / procstat.ClockTicks
}

// ticks reads a PostgreSQL process's utime + stime in clock ticks.
func (m *cpuMeter) ticks(pid int) (int64, error) {
	dir := filepath.Join(m.proc, strconv.Itoa(pid))
	comm, err := os.ReadFile(filepath.Join(dir, "comm"))
	if err != nil || !bytes.HasPrefix(comm, []byte("postgres")) {
		return 0, fmt.Errorf("%w: process %d", errNotLocal, pid)
	}
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return 0, fmt.Errorf("%w: %w", errNotLocal, err)
	}
	return procstat.Ticks(stat)
}
