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
)

// clockTicks is the unit of utime and stime in /proc/PID/stat (USER_HZ,
// 100 on every Linux architecture Vitrine runs on).
const clockTicks = 100

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
	return float64(ticks) / clockTicks
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
	return statTicks(stat)
}

// statTicks is utime + stime (fields 14 and 15) of a /proc/PID/stat line;
// the fields are counted after the command name, which may hold spaces.
func statTicks(stat []byte) (int64, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("proc stat %q: no command name", stat)
	}
	f := bytes.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("proc stat %q: %d fields after the command name", stat, len(f))
	}
	utime, err1 := strconv.ParseInt(string(f[11]), 10, 64)
	stime, err2 := strconv.ParseInt(string(f[12]), 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("proc stat: %w", err)
	}
	return utime + stime, nil
}
