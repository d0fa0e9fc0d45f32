package throughput

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/vitrinehq/vitrine/internal/procstat"
)

// IngestCPU is where an ingest case's CPU time went, the figure that
// survives a shared machine: wall-clock rates swing with the load, CPU
// seconds much less. On a machine whose cores the work fills, ingest keeps
// about Bound of the models' speed.
type IngestCPU struct {
	// ProcessSeconds is this process's CPU time (user + system) during
	// ingest.Run: the models, parsing, hashing, media reads, fusion and
	// the database driver.
	ProcessSeconds float64 `json:"process_seconds"`
	// DatabaseSeconds is the CPU time of the PostgreSQL backends serving
	// the case's database during ingest.Run (the server on this machine;
	// found by their process titles).
	DatabaseSeconds float64 `json:"database_seconds"`
	// ServerSeconds is the CPU time of the server's shared processes
	// meanwhile (WAL writer, checkpointer, background writer): other
	// databases' work counts there too.
	ServerSeconds float64 `json:"server_seconds"`
	// IndexSeconds is the CPU time of the database's backends and of the
	// server's parallel workers while a deferred case's indexes were
	// built after the load (0 when they were live).
	IndexSeconds float64 `json:"index_build_seconds"`
	// ModelsSeconds is the models alone's CPU time for as many items as
	// were ingested, from the baseline's CPU time per item.
	ModelsSeconds float64 `json:"models_seconds"`
	// Bound is ProcessSeconds / (ProcessSeconds + DatabaseSeconds +
	// ServerSeconds): the ingest/models ratio when the CPUs bound both,
	// taking this process's time as the models' (a profile of a text+image
	// load puts ingest's own code, parsing, hashing, fusion and the
	// driver, at about 0.1% of it). Not ModelsSeconds: ONNX Runtime's
	// threads spin while they wait, and on a loaded machine the baseline
	// spends more CPU time an item than the models do inside ingest.
	Bound float64 `json:"cpu_bound_ratio"`
}

// Line prints the split in one line.
func (c IngestCPU) Line() string {
	build := ""
	if c.IndexSeconds > 0 {
		build = fmt.Sprintf("; index build after it %.1f", c.IndexSeconds)
	}
	return fmt.Sprintf("  CPU s: models alone %.1f; ingest %.1f (this process %.1f; database backends %.1f; WAL writer, checkpointer, background writer %.1f): CPU-bound ratio %.3f%s",
		c.ModelsSeconds, c.ProcessSeconds+c.DatabaseSeconds+c.ServerSeconds, c.ProcessSeconds, c.DatabaseSeconds, c.ServerSeconds, c.Bound, build)
}

// processCPU is this process's CPU time so far (user + system).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// serverMeter sums the CPU time that the PostgreSQL processes on this
// machine spend while a function runs: the backends of one database (a
// process title names its database) and the server's shared writers. It
// counts parallel workers too, whose titles name no database. It samples /proc every interval, keeping each process's largest reading,
// so a process that exits loses at most one interval; each process's time
// before the start is subtracted.
type serverMeter struct {
	proc     string
	database []byte // " name " as a backend's title holds it
	interval time.Duration
	before   map[int]int64
	last     map[int]int64
	shared   map[int]bool // the server's shared writers among last
}

// sharedWriters are the titles of the server processes whose work any
// database's writes cause.
var sharedWriters = [][]byte{[]byte("postgres: walwriter"), []byte("postgres: checkpointer"), []byte("postgres: background writer")}

// parallelWorker starts the title of a parallel worker (of an index build
// here), which names its leader's process, not its database.
var parallelWorker = []byte("postgres: parallel worker")

// newServerMeter snapshots the PostgreSQL processes under proc now.
func newServerMeter(proc, database string, interval time.Duration) *serverMeter {
	m := &serverMeter{proc: proc, database: []byte(" " + database + " "), interval: interval,
		before: map[int]int64{}, last: map[int]int64{}, shared: map[int]bool{}}
	m.sample(m.before)
	return m
}

// measure runs f while sampling, and returns f's error.
func (m *serverMeter) measure(ctx context.Context, f func() error) error {
	done := make(chan error, 1)
	go func() { done <- f() }()
	t := time.NewTicker(m.interval)
	defer t.Stop()
	for {
		m.sample(m.last)
		select {
		case err := <-done:
			m.sample(m.last)
			return err
		case <-t.C:
		case <-ctx.Done():
			return <-done
		}
	}
}

// sample records the CPU ticks of the measured PostgreSQL processes into into,
// keeping the larger of two readings.
func (m *serverMeter) sample(into map[int]int64) {
	entries, _ := os.ReadDir(m.proc)
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		dir := filepath.Join(m.proc, e.Name())
		if comm, err := os.ReadFile(filepath.Join(dir, "comm")); err != nil || !bytes.HasPrefix(comm, []byte("postgres")) {
			continue
		}
		title, err := os.ReadFile(filepath.Join(dir, "cmdline"))
		if err != nil {
			continue
		}
		shared := slices.ContainsFunc(sharedWriters, func(w []byte) bool { return bytes.HasPrefix(title, w) })
		if !shared && !bytes.Contains(title, m.database) && !bytes.HasPrefix(title, parallelWorker) {
			continue
		}
		m.shared[pid] = shared
		stat, err := os.ReadFile(filepath.Join(dir, "stat"))
		if err != nil {
			continue
		}
		if ticks, err := procstat.Ticks(stat); err == nil {
			into[pid] = max(into[pid], ticks)
		}
	}
}

// seconds is the CPU time the database's backends and the shared
// writers spent since the snapshot.
func (m *serverMeter) seconds() (backends, shared float64) {
	var b, s int64
	for pid, t := range m.last {
		if m.shared[pid] {
			s += t - m.before[pid]
		} else {
			b += t - m.before[pid]
		}
	}
	return float64(b) / procstat.ClockTicks, float64(s) / procstat.ClockTicks
}
