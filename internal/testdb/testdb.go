// Package testdb gives each test a fresh, migrated database on a real
// PostgreSQL with pgvector: VITRINE_TEST_DATABASE_URL when set, otherwise the
// project's private cluster, started on demand.
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vitrinehq/vitrine/internal/pgcluster"
	"github.com/vitrinehq/vitrine/migrations"
)

// ModuleRoot finds the directory holding go.mod above the working directory.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// AdminURL returns a URL of a database from which test databases can be
// created, starting the private cluster if needed.
func AdminURL(ctx context.Context) (string, error) {
	if u := os.Getenv("VITRINE_TEST_DATABASE_URL"); u != "" {
		return u, nil
	}
	c, err := Cluster()
	if err != nil {
		return "", err
	}
	if err := c.Start(ctx); err != nil {
		return "", err
	}
	return c.URL("postgres")
}

// Cluster describes the project's private cluster (.vitrine/pg under the
// module root, port from VITRINE_DATABASE_PORT or the default).
func Cluster() (*pgcluster.Cluster, error) {
	root, err := ModuleRoot()
	if err != nil {
		return nil, err
	}
	home := os.Getenv("VITRINE_HOME")
	if home == "" {
		home = filepath.Join(root, ".vitrine")
	}
	var opts []pgcluster.Option
	if p := os.Getenv("VITRINE_DATABASE_PORT"); p != "" {
		port, err := strconv.Atoi(p)
		if err != nil {
			return nil, fmt.Errorf("VITRINE_DATABASE_PORT=%q: %w", p, err)
		}
		opts = append(opts, pgcluster.WithPort(port))
	}
	return pgcluster.New(filepath.Join(home, "pg"), opts...)
}

// URL creates an empty, migrated database for this test and drops it when
// the test ends. The test fails (never skips) if no database can be had.
func URL(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin, err := AdminURL(ctx)
	if err != nil {
		t.Fatalf("test database: %v", err)
	}
	tmpl, err := template(ctx, admin)
	if err != nil {
		t.Fatalf("test database template: %v", err)
	}
	name, u, err := create(ctx, admin, tmpl)
	if err != nil {
		t.Fatalf("test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := Drop(ctx, admin, name); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	return u
}

// template returns a migrated template database for the current schema,
// creating it once (under an advisory lock: test packages run in
// parallel). Copying a template is much faster than migrating each test's
// database from scratch.
func template(ctx context.Context, adminURL string) (string, error) {
	fp, err := migrations.Fingerprint()
	if err != nil {
		return "", err
	}
	name := "vitrine_template_" + fp
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return "", fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(7261)`); err != nil {
		return "", err
	}
	defer conn.Exec(context.Background(), `SELECT pg_advisory_unlock(7261)`) //nolint:errcheck
	var ready bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1 AND datistemplate)`, name).Scan(&ready); err != nil {
		return "", err
	}
	if ready {
		return name, nil
	}
	// A half-made template from an interrupted run is rebuilt.
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", err
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", err
	}
	pu, err := url.Parse(adminURL)
	if err != nil {
		return "", err
	}
	pu.Path = "/" + name
	pool, err := pgxpool.New(ctx, pu.String())
	if err != nil {
		return "", err
	}
	_, err = migrations.Up(ctx, pool, nil)
	pool.Close()
	if err != nil {
		return "", fmt.Errorf("migrate template: %w", err)
	}
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH is_template true"); err != nil {
		return "", err
	}
	return name, nil
}

// Create makes a new empty (unmigrated) database and returns its name and URL.
func Create(ctx context.Context, adminURL string) (string, string, error) {
	return create(ctx, adminURL, "")
}

func create(ctx context.Context, adminURL, tmpl string) (string, string, error) {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	name := "vitrine_test_" + hex.EncodeToString(b)
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return "", "", fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	ddl := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize()
	if tmpl != "" {
		ddl += " TEMPLATE " + pgx.Identifier{tmpl}.Sanitize()
	}
	if _, err := conn.Exec(ctx, ddl); err != nil {
		return "", "", fmt.Errorf("create database: %w", err)
	}
	pu, err := url.Parse(adminURL)
	if err != nil {
		return "", "", fmt.Errorf("parse admin URL: %w", err)
	}
	pu.Path = "/" + name
	return name, pu.String(), nil
}

// Drop removes a test database, ending its sessions.
func Drop(ctx context.Context, adminURL, name string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	return err
}

// Pool opens a connection pool on the test database at dbURL (from URL), for
// tests that check rows no store method exposes; it is closed when the test
// ends. pgvector's types are not registered on it: read vectors through the
// store.
func Pool(t testing.TB, dbURL string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(t.Context(), dbURL)
	if err != nil {
		t.Fatalf("test database pool: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}
