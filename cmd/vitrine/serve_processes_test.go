package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/internal/synth"
)

// visibleWithin is how soon a write through one API process must be
// searchable on every other (the search issue's promise).
const visibleWithin = 2 * time.Second

// server is one `vitrine serve` child process.
type server struct {
	base string
	cmd  *exec.Cmd
	out  *bytes.Buffer
}

// startServer starts `vitrine serve` on a free loopback port and waits
// until /readyz answers 200 (the lexical index's snapshot is searchable).
func (e *env) startServer(t *testing.T) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := e.command(ctx, "serve")
	cmd.Env = append(cmd.Env, "VITRINE_SERVER_LISTEN="+addr, "VITRINE_SERVER_AUTH=off", "VITRINE_VOICE_ENABLED=false", "VITRINE_SEARCH_LANGUAGES=en")
	s := &server{base: "http://" + addr, cmd: cmd, out: &bytes.Buffer{}}
	cmd.Stdout, cmd.Stderr = s.out, s.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(s.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("vitrine serve on %s not ready in 60 s:\n%s", addr, s.out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop ends the server and waits for it.
func (s *server) stop() { _ = s.cmd.Process.Kill(); _ = s.cmd.Wait() }

// search returns the ids GET /v1/search gives for q.
func (s *server) search(t *testing.T, q string) []string {
	t.Helper()
	resp, err := http.Get(s.base + "/v1/search?k=10&q=" + url.QueryEscape(q))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Results []struct {
			ID string `json:"id"`
		} `json:"results"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&body) != nil {
		t.Fatalf("search %q: status %d", q, resp.StatusCode)
	}
	ids := make([]string, len(body.Results))
	for i, r := range body.Results {
		ids[i] = r.ID
	}
	return ids
}

// send makes a write request and fails the test unless it succeeds.
func (s *server) send(t *testing.T, method, path string, body any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(t.Context(), method, s.base+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: status %d", method, path, resp.StatusCode)
	}
}

// within polls cond until it holds or visibleWithin has passed.
func within(t *testing.T, what string, cond func() bool) {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > visibleWithin {
			t.Fatalf("%s: not within %s", what, visibleWithin)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("%s after %s", what, time.Since(start).Round(time.Millisecond))
}

// TestServeProcessesConsistent: two `vitrine serve` processes on one
// database. A product written, updated and deleted through one is
// searchable, updated and gone on the other within 2 s, and a restarted
// process serves the same results as before.
func TestServeProcessesConsistent(t *testing.T) {
	e := newEnv(t)
	if code, out := e.run("ingest", writeCatalog(t, synth.Options{N: 200, Seed: 3})); code != 0 {
		t.Fatalf("ingest: exit %d\n%s", code, out)
	}
	a, b := e.startServer(t), e.startServer(t)
	product := func(title string) map[string]any {
		return map[string]any{"products": []map[string]any{{"id": "zx-1", "title": title, "category": "Pantry > Spreads", "price": 3.5}}}
	}
	has := func(s *server, q string) func() bool {
		return func() bool { return slices.Contains(s.search(t, q), "zx-1") }
	}

	a.send(t, http.MethodPost, "/v1/products", product("Quokka marmalade"))
	within(t, "written on one, found on the other", has(b, "quokka"))
	b.send(t, http.MethodPost, "/v1/products", product("Wombat marmalade"))
	within(t, "updated on the other, found by its new title", has(a, "wombat"))
	within(t, "old title gone", func() bool { return !has(a, "quokka")() })
	a.send(t, http.MethodDelete, "/v1/products/zx-1", nil)
	within(t, "deleted on one, gone on the other", func() bool { return !has(b, "wombat")() })

	queries := []string{"organic", "apple juice", "fresh bread", "marmalade"}
	before := map[string][]string{}
	for _, q := range queries {
		before[q] = b.search(t, q)
	}
	b.stop()
	c := e.startServer(t)
	for _, q := range queries {
		if got := c.search(t, q); !slices.Equal(got, before[q]) {
			t.Errorf("%q after a restart: %v, before %v", q, got, before[q])
		}
	}
}
