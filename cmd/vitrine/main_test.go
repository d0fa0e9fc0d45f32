package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vitrinehq/vitrine/internal/testdb"
	"github.com/vitrinehq/vitrine/internal/testenv"
	"github.com/vitrinehq/vitrine/store"
)

// TestMain lets the test binary stand in for the vitrine binary: started
// with VITRINE_TEST_BE_MAIN=1 it runs main, so tests can run, kill and rerun
// real vitrine processes without building a separate binary.
func TestMain(m *testing.M) {
	if os.Getenv("VITRINE_TEST_BE_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// env is a test's configuration for child vitrine processes: its own
// database, the module's models and ONNX Runtime, fusion without audio
// (the test catalogs have none).
type env struct {
	t    *testing.T
	url  string
	vars []string
	// db reaches the test's database for checks no store method exposes.
	db *pgxpool.Pool
}

func newEnv(t *testing.T) *env {
	t.Helper()
	root := testenv.Root(t)
	u := testdb.URL(t)
	return &env{t: t, url: u, db: testdb.Pool(t, u), vars: []string{
		"VITRINE_TEST_BE_MAIN=1",
		"VITRINE_DATABASE_URL=" + u,
		"VITRINE_HOME=" + testenv.Home(t),
		"VITRINE_MODELS_MANIFESTS=" + filepath.Join(root, "models"),
		"VITRINE_FUSION_TEXT_WEIGHT=0.5",
		"VITRINE_FUSION_IMAGE_WEIGHT=0.5",
		"VITRINE_FUSION_AUDIO_WEIGHT=0",
		"VITRINE_LOG_LEVEL=warn",
	}}
}

// command returns a vitrine child process.
func (e *env) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), e.vars...)
	cmd.Dir = e.t.TempDir()
	return cmd
}

// run runs vitrine to completion and returns its exit code and output.
func (e *env) run(args ...string) (int, string) {
	e.t.Helper()
	var out bytes.Buffer
	cmd := e.command(e.t.Context(), args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatal(err)
	}
	return code, out.String()
}

func (e *env) store() *store.Store {
	e.t.Helper()
	s, err := store.Open(e.t.Context(), e.url)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(s.Close)
	return s
}

func TestHelpForEveryCommand(t *testing.T) {
	e := newEnv(t)
	for _, args := range [][]string{
		{"--help"}, {"db", "--help"}, {"db", "migrate", "--help"}, {"models", "--help"}, {"ingest", "--help"},
		{"worker", "--help"}, {"backfill", "--help"}, {"vectors", "--help"}, {"config", "--help"},
	} {
		code, out := e.run(args...)
		if code != 0 || !strings.Contains(out, "Usage:") {
			t.Errorf("vitrine %s: exit %d\n%s", strings.Join(args, " "), code, out)
		}
	}
	code, out := e.run("no-such-command")
	if code == 0 || !strings.Contains(out, "unknown command") {
		t.Errorf("unknown command: exit %d\n%s", code, out)
	}
}

func TestDBMigrateTwice(t *testing.T) {
	e := newEnv(t)
	code, out := e.run("db", "migrate")
	if code != 0 || !strings.Contains(out, "schema up to date") {
		t.Fatalf("migrate on a migrated database: exit %d\n%s", code, out)
	}
	code, out = e.run("db", "status")
	if code != 0 || !strings.Contains(out, "pgvector:   0.8.0") {
		t.Errorf("status: exit %d\n%s", code, out)
	}
}
