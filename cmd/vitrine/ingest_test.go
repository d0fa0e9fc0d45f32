package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/fusion"
	"github.com/vitrinehq/vitrine/indexer"
	"github.com/vitrinehq/vitrine/ingest"
	"github.com/vitrinehq/vitrine/internal/synth"
	"github.com/vitrinehq/vitrine/internal/testenv"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/store"
)

// groceryImages lists the demo catalog's photos.
func groceryImages(t *testing.T) []string {
	t.Helper()
	imgs, err := filepath.Glob(filepath.Join(testenv.Root(t), "demo", "grocery", "images", "*.jpg"))
	if err != nil || len(imgs) == 0 {
		t.Fatalf("demo images: %v", err)
	}
	return imgs
}

func writeCatalog(t *testing.T, o synth.Options) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "catalog.jsonl")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	if err := synth.WriteJSONL(w, o); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return path
}

// count runs a count query on the test's database.
func count(t *testing.T, db *pgxpool.Pool, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(t.Context(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func waitUntil(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkVectors recomputes the fused vectors of some products with the real
// encoders, independently of the stored embeddings, and compares.
func checkVectors(t *testing.T, s *store.Store, ids []string) {
	t.Helper()
	ctx := t.Context()
	sp, err := s.ActiveSpace(ctx)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := fusion.ParseSpec(sp.Spec)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := s.ProductVectors(ctx, sp.Version, ids)
	if err != nil {
		t.Fatal(err)
	}
	products, err := s.GetProducts(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	encs := map[string]extractors.Encoder{}
	for _, c := range spec.Components {
		name, _, _ := strings.Cut(c.Model, "@")
		e, err := extractors.Open(ctx, testenv.Runtime(t), testenv.Manifest(t, name), testenv.ModelDir(t), extractors.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		encs[c.Model] = e
	}
	for _, id := range ids {
		p := products[id]
		vecs := map[string][]float32{}
		for key, e := range encs {
			var in []byte
			switch e.Modality() {
			case "text":
				in = []byte(indexer.TextOf(p))
			case "image":
				imgs := p.MediaOf(catalog.MediaImage)
				if len(imgs) == 0 {
					continue
				}
				b, err := os.ReadFile(imgs[0].URI)
				if err != nil {
					t.Fatal(err)
				}
				in = b
			default:
				continue
			}
			v, err := e.Encode(ctx, in)
			if err != nil {
				t.Fatalf("%s: %v", id, err)
			}
			vecs[key] = v
		}
		want, err := spec.Fuse(vecs)
		if err != nil {
			t.Fatal(err)
		}
		got := stored[id]
		if len(got) != len(want) {
			t.Fatalf("%s: stored vector has %d dims, want %d", id, len(got), len(want))
		}
		var dot float64
		for i := range got {
			dot += float64(got[i]) * float64(want[i])
		}
		if math.Abs(dot-1) > 1e-4 {
			t.Errorf("%s: stored vector differs from a fresh encoding (cos %.6f)", id, dot)
		}
	}
}

// A SIGKILL in the middle of ingesting 10,000 products loses nothing: the
// rerun lands every product exactly once with correct vectors.
func TestIngestKilledMidwayResumes(t *testing.T) {
	e := newEnv(t)
	const n = 10_000
	path := writeCatalog(t, synth.Options{N: n, Seed: 7, Images: groceryImages(t), ImageEvery: 100})
	s := e.store()

	cmd := e.command(t.Context(), "ingest", path, "--batch-size", "100")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "a third of the vectors", 3*time.Minute, func() bool {
		return count(t, e.db, `SELECT count(*) FROM product_vectors`) >= n/3
	})
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	before := count(t, e.db, `SELECT count(*) FROM product_vectors`)
	if before >= n {
		t.Fatalf("ingest finished (%d vectors) before it was killed; the test needs a bigger catalog", before)
	}

	code, out := e.run("ingest", path, "--batch-size", "100")
	if code != 0 {
		t.Fatalf("rerun: exit %d\n%s", code, out)
	}
	if !strings.Contains(out, fmt.Sprintf("rows %d:", n)) {
		t.Errorf("rerun summary:\n%s", out)
	}
	if got := count(t, e.db, `SELECT count(*) FROM products`); got != n {
		t.Errorf("%d products, want %d", got, n)
	}
	if got := count(t, e.db, `SELECT count(DISTINCT product_id) FROM product_vectors`); got != n {
		t.Errorf("%d products with vectors, want %d", got, n)
	}
	if got := count(t, e.db, `SELECT count(*) FROM product_vectors`); got != n {
		t.Errorf("%d vectors, want exactly one per product (%d)", got, n)
	}
	if got := count(t, e.db, `SELECT count(*) FROM embeddings WHERE modality = 'image'`); got != n/100 {
		t.Errorf("%d image embeddings, want %d", got, n/100)
	}
	// The first run was killed with its HNSW indexes dropped for the load
	// (the catalog was empty); the rerun built all three again.
	if got := count(t, e.db, `SELECT count(*) FROM pg_indexes WHERE indexdef LIKE '%USING hnsw%'`); got != 3 {
		t.Errorf("%d HNSW indexes after the rerun, want 3 (the space's, the text and image models')", got)
	}
	// Products done before the kill were not encoded again.
	if !strings.Contains(out, "already up to date") {
		t.Errorf("rerun output:\n%s", out)
	}
	checkVectors(t, s, []string{"syn-0000000", "syn-0000001", "syn-0004200", "syn-0009999", "syn-0009900"})

	// A third run changes nothing and runs no model.
	code, out = e.run("ingest", path, "--batch-size", "500")
	if code != 0 || !strings.Contains(out, "models run: none") || !strings.Contains(out, fmt.Sprintf("unchanged %d", n)) {
		t.Errorf("third run: exit %d\n%s", code, out)
	}
}

// A catalog with malformed rows lands every good row and lists every bad one.
func TestIngestMalformedCatalog(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	img := groceryImages(t)[0]
	lines := []string{
		`{"id":"good-1","title":"Golden apple","images":["` + img + `"]}`,
		`{"id":"bad-json","title":"oops"`,
		`{"title":"no id"}`,
		`{"id":"bad-image","title":"Pear","images":["missing.jpg"]}`,
		`{"id":"not-an-image","title":"Lemon","images":["` + filepath.Join(dir, "catalog.jsonl") + `"]}`,
		`{"id":"wrong-type","title":"Kiwi","price":"cheap"}`,
		`{"id":"good-2","title":"Banana","category":"Fruit > Banana","price":1.5}`,
		`{"id":"no-usable","title":"zzqqxx","images":["missing.jpg"]}`,
	}
	path := filepath.Join(dir, "catalog.jsonl")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out := e.run("ingest", path)
	if code != 2 {
		t.Fatalf("exit %d, want 2 (rows rejected)\n%s", code, out)
	}
	rejects := readRejects(t, filepath.Join(dir, "catalog.rejects.jsonl"))
	want := map[int]string{
		2: "bad JSON",
		3: "id: is required",
		4: "missing.jpg",
		5: "not-an-image",
		6: `field "price"`,
		8: "no usable modality",
	}
	for line, reason := range want {
		r, ok := rejects[line]
		if !ok {
			t.Errorf("line %d missing from the reject file", line)
			continue
		}
		if !strings.Contains(r.Reason+" "+r.ID, reason) {
			t.Errorf("line %d: reason %q, want %q", line, r.Reason, reason)
		}
	}
	if len(rejects) != len(want) {
		t.Errorf("reject file has %d lines, want %d: %+v", len(rejects), len(want), rejects)
	}
	if !rejects[4].Partial || !rejects[5].Partial || rejects[8].Partial {
		t.Errorf("partial flags: %+v", rejects)
	}
	s := e.store()
	for _, id := range []string{"good-1", "good-2", "bad-image", "not-an-image"} {
		if _, err := s.GetProduct(t.Context(), id); err != nil {
			t.Errorf("%s did not land: %v", id, err)
		}
	}
	if got := count(t, e.db, `SELECT count(*) FROM product_vectors`); got != 4 {
		t.Errorf("%d vectors, want 4 (good rows and text-only partial rows)", got)
	}
}

func readRejects(t *testing.T, path string) map[int]ingest.RowError {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]ingest.RowError{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var r ingest.RowError
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("reject line %q: %v", l, err)
		}
		out[r.Line] = r
	}
	return out
}

// A worker killed mid-job leaves its jobs to another worker, which
// completes them.
func TestWorkerKilledJobsCompleteElsewhere(t *testing.T) {
	e := newEnv(t)
	const n = 300
	path := writeCatalog(t, synth.Options{N: n, Seed: 3, Images: groceryImages(t), ImageEvery: 1})
	code, out := e.run("ingest", path, "--enqueue")
	if code != 0 || !strings.Contains(out, fmt.Sprintf("queued %d encoding jobs", n)) {
		t.Fatalf("ingest --enqueue: exit %d\n%s", code, out)
	}
	s := e.store()
	if got := count(t, e.db, `SELECT count(*) FROM product_vectors`); got != 0 {
		t.Fatalf("%d vectors before any worker ran", got)
	}

	first := e.command(t.Context(), "worker", "--concurrency", "8")
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	var running int
	waitUntil(t, "the first worker to be mid-job", 2*time.Minute, func() bool {
		running = count(t, e.db, `SELECT count(*) FROM river_job WHERE state = 'running'`)
		return running > 0 && count(t, e.db, `SELECT count(*) FROM product_vectors`) > 10
	})
	_ = first.Process.Signal(syscall.SIGKILL)
	_ = first.Wait()
	orphaned := count(t, e.db, `SELECT count(*) FROM river_job WHERE state = 'running'`)
	if orphaned == 0 {
		t.Fatal("no job was running when the worker died; the test proves nothing")
	}

	var secondOut bytes.Buffer
	second := e.command(t.Context(), "worker", "--concurrency", "8")
	second.Stdout, second.Stderr = &secondOut, &secondOut
	second.Env = append(second.Env, "VITRINE_WORKER_RESCUE_AFTER=10s")
	if err := second.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = second.Process.Signal(syscall.SIGTERM)
		_ = second.Wait()
	}()
	waitUntil(t, "every job to complete", 4*time.Minute, func() bool {
		if second.ProcessState != nil {
			t.Fatalf("second worker exited:\n%s", secondOut.String())
		}
		return count(t, e.db, `SELECT count(*) FROM river_job WHERE state <> 'completed'`) == 0
	})
	if got := count(t, e.db, `SELECT count(*) FROM product_vectors`); got != n {
		t.Errorf("%d vectors, want %d", got, n)
	}
	if got := count(t, e.db, `SELECT count(*) FROM river_job WHERE attempt > 1`); got < orphaned {
		t.Errorf("%d jobs ran twice, want at least the %d orphaned ones", got, orphaned)
	}
	checkVectors(t, s, []string{"syn-0000000", "syn-0000150", "syn-0000299"})
}

// A backfill to new fusion weights runs while readers query the active
// space; activation switches them with no failed query.
func TestBackfillWhileServing(t *testing.T) {
	e := newEnv(t)
	path := writeCatalog(t, synth.Options{N: 2000, Seed: 11, Images: groceryImages(t), ImageEvery: 20})
	if code, out := e.run("ingest", path); code != 0 {
		t.Fatalf("ingest: exit %d\n%s", code, out)
	}
	s := e.store()
	old, err := s.ActiveSpace(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	query := make([]float32, old.Dim)
	query[0], query[150] = 1, 1

	var queries, failures atomic.Int64
	seen := sync.Map{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				sp, err := s.ActiveSpace(t.Context())
				if err == nil {
					var hits []records.Neighbor
					hits, err = s.Nearest(t.Context(), records.NearestQuery{Space: sp.Version, Vector: query, K: 10})
					if err == nil && len(hits) != 10 {
						err = fmt.Errorf("%d hits", len(hits))
					}
				}
				queries.Add(1)
				if err != nil && !errors.Is(err, t.Context().Err()) {
					failures.Add(1)
					t.Errorf("query failed: %v", err)
				}
				seen.Store(sp.Version, true)
			}
		}()
	}
	code, out := e.run("backfill", "--text-weight", "0.8", "--image-weight", "0.2", "--activate")
	if code != 0 {
		t.Fatalf("backfill: exit %d\n%s", code, out)
	}
	// Readers keep going on the new space for a moment.
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()

	now, err := s.ActiveSpace(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if now.Version == old.Version {
		t.Fatal("backfill did not activate a new space")
	}
	if _, ok := seen.Load(old.Version); !ok {
		t.Error("readers never saw the old space")
	}
	if _, ok := seen.Load(now.Version); !ok {
		t.Error("readers never saw the new space")
	}
	if failures.Load() > 0 {
		t.Errorf("%d of %d queries failed", failures.Load(), queries.Load())
	}
	spec, _ := fusion.ParseSpec(now.Spec)
	if spec.Components[0].Weight != 0.8 {
		t.Errorf("new space spec %s", now.Spec)
	}
	if !strings.Contains(out, "models run: map[]") {
		t.Errorf("re-weighting re-ran a model:\n%s", out)
	}
	if got := count(t, e.db, `SELECT count(*) FROM product_vectors WHERE space_version = $1`, now.Version); got != 2000 {
		t.Errorf("new space holds %d vectors, want 2000", got)
	}
	t.Logf("%d queries during the backfill, none failed", queries.Load())
}
