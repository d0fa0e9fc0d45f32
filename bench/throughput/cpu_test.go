package throughput

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeProc writes a process's comm, cmdline and stat (utime ticks, no
// stime) under a fake /proc.
func writeProc(t *testing.T, proc string, pid int, title string, ticks int) {
	t.Helper()
	dir := filepath.Join(proc, fmt.Sprint(pid))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	comm := strings.Fields(title)[0]
	stat := fmt.Sprintf("%d (%s) S 1 1 1 0 -1 0 0 0 0 0 %d 0 0 0", pid, comm, ticks)
	for name, body := range map[string]string{"comm": comm + "\n", "cmdline": title + "\x00", "stat": stat} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestServerMeterCountsTheDatabaseAndSharedWriters: the backends of the
// measured database and the shared writers count, from their time at the
// start; other databases' backends and other programs do not, and a
// backend or parallel worker that appears during the run counts in full.
func TestServerMeterCountsTheDatabaseAndSharedWriters(t *testing.T) {
	proc := t.TempDir()
	writeProc(t, proc, 10, "postgres: vitrine bench_db 127.0.0.1(4000) idle", 100)
	writeProc(t, proc, 11, "postgres: vitrine other_db [local] idle", 100)
	writeProc(t, proc, 12, "postgres: walwriter", 50)
	writeProc(t, proc, 13, "vitrine bench ingest --database bench_db", 100)
	m := newServerMeter(proc, "bench_db", time.Hour)
	err := m.measure(context.Background(), func() error {
		writeProc(t, proc, 10, "postgres: vitrine bench_db 127.0.0.1(4000) INSERT", 350)
		writeProc(t, proc, 11, "postgres: vitrine other_db [local] INSERT", 900)
		writeProc(t, proc, 12, "postgres: walwriter", 60)
		writeProc(t, proc, 13, "vitrine bench ingest --database bench_db", 900)
		writeProc(t, proc, 14, "postgres: vitrine bench_db 127.0.0.1(4001) idle", 40)
		writeProc(t, proc, 15, "postgres: parallel worker for PID 10", 30)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	backends, shared := m.seconds()
	if backends != 3.2 || shared != 0.1 {
		t.Fatalf("seconds() = %v backends, %v shared; want 3.2 (2.5 + 0.4 + a parallel worker's 0.3) and 0.1", backends, shared)
	}
}

func TestIngestCPULine(t *testing.T) {
	c := IngestCPU{ProcessSeconds: 40, DatabaseSeconds: 7, ServerSeconds: 0.5, ModelsSeconds: 38}
	c.Bound = Ratio(c.ProcessSeconds, c.ProcessSeconds+c.DatabaseSeconds+c.ServerSeconds)
	want := "  CPU s: models alone 38.0; ingest 47.5 (this process 40.0; database backends 7.0; WAL writer, checkpointer, background writer 0.5): CPU-bound ratio 0.842"
	if got := c.Line(); got != want {
		t.Fatalf("Line() =\n%q\nwant\n%q", got, want)
	}
	c.IndexSeconds = 1.25
	if got, want := c.Line(), want+"; index build after it 1.2"; got != want {
		t.Fatalf("deferred Line() =\n%q\nwant\n%q", got, want)
	}
}
