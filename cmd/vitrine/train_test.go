package main

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/internal/synth"
)

// `vitrine train` trains and activates a model; a worker with
// worker.train_every trains on its own schedule.
func TestTrainCommandAndPeriodicTraining(t *testing.T) {
	e := newEnv(t)
	path := writeCatalog(t, synth.Options{N: 60, Seed: 5})
	if code, out := e.run("ingest", path); code != 0 {
		t.Fatalf("ingest: %d\n%s", code, out)
	}
	s := e.store()
	var evs []catalog.Event
	now := time.Now().UTC()
	for u := range 20 {
		for j := range 6 {
			evs = append(evs, catalog.Event{ClientEventID: fmt.Sprintf("%d-%d", u, j), UserID: fmt.Sprintf("user%d", u),
				ProductID: fmt.Sprintf("syn-%07d", (u%4)*15+j), Type: catalog.Purchase, OccurredAt: now})
		}
	}
	if _, err := s.InsertEvents(t.Context(), evs); err != nil {
		t.Fatal(err)
	}
	code, out := e.run("train", "--factors", "8", "--reg", "1")
	if code != 0 || !strings.Contains(out, "trained als model") || !strings.Contains(out, "120 interactions (20 users") {
		t.Fatalf("train: exit %d\n%s", code, out)
	}
	first := count(t, e.db, `SELECT max(version) FROM cf_models WHERE active`)
	code, out = e.run("train", "--fusion")
	if code != 0 || !strings.Contains(out, "learned fusion weights over 20 users") || !strings.Contains(out, "next-product MRR") {
		t.Errorf("train --fusion: exit %d\n%s", code, out)
	}

	w := e.command(t.Context(), "worker", "--concurrency", "2")
	w.Env = append(w.Env, "VITRINE_WORKER_TRAIN_EVERY=2s")
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = w.Process.Signal(syscall.SIGTERM)
		_ = w.Wait()
	}()
	waitUntil(t, "a scheduled training", 2*time.Minute, func() bool {
		return count(t, e.db, `SELECT max(version) FROM cf_models WHERE active`) > first
	})
}
