package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vitrinehq/vitrine/bench/throughput"
	"github.com/vitrinehq/vitrine/internal/testenv"
)

// sharedDir is the shared data directory (VITRINE_ASSETS, else ../shared
// beside the module).
func sharedDir(t *testing.T) string {
	if a := os.Getenv("VITRINE_ASSETS"); a != "" {
		return a
	}
	return filepath.Join(testenv.Root(t), "..", "shared")
}

func TestBenchExtract(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	jsonOut, mdOut, plotOut := filepath.Join(dir, "bx.json"), filepath.Join(dir, "bx.md"), filepath.Join(dir, "bx.png")
	shared := sharedDir(t)
	code, txt := e.run("bench", "extract", "--batch", "8", "--items", "8", "--rounds", "2",
		"--photos", filepath.Join(shared, "data", "grocery", "photos_dev.txt"), "--audio", filepath.Join(shared, "data", "audio", "fsdd"),
		"--json", jsonOut, "--md", mdOut, "--plot", plotOut)
	if code != 0 {
		t.Fatalf("bench extract: exit %d\n%s", code, txt)
	}
	for _, want := range []string{"PIPELINE items/s", "BARE ORT items/s", "Grocery Store Dataset shop photos", "WAV files in"} {
		if !strings.Contains(txt, want) {
			t.Errorf("output lacks %q:\n%s", want, txt)
		}
	}
	b, err := os.ReadFile(jsonOut)
	if err != nil {
		t.Fatal(err)
	}
	var rep throughput.ExtractReport
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("JSON report: %v\n%s", err, b)
	}
	// Batch 1 is always measured: it is the batch baseline.
	want := map[string]bool{"text/1": true, "text/8": true, "image/1": true, "image/8": true, "audio/1": true, "audio/8": true}
	for _, r := range rep.Rows {
		key := r.Modality + "/" + strconv.Itoa(r.Batch)
		if !want[key] {
			t.Errorf("unexpected or repeated row %s", key)
		}
		delete(want, key)
		for _, res := range []struct {
			name string
			v    float64
		}{{"pipeline", r.Pipeline.PerSecond}, {"EncodeBatch", r.EncodeBatch.PerSecond}, {"bare", r.Bare.PerSecond},
			{"pipeline/bare", r.PipelineVsBare}, {"EncodeBatch/bare", r.EncodeBatchVsBare}, {"pipeline vs batch 1", r.PipelineVsBatch1}, {"bare vs batch 1", r.BareVsBatch1}} {
			if !(res.v > 0) {
				t.Errorf("%s: %s = %v, want > 0", key, res.name, res.v)
			}
		}
		if r.Pipeline.Items < 8 || len(r.Pipeline.Rounds) != 2 {
			t.Errorf("%s: pipeline %+v: want 8 items or more in 2 rounds", key, r.Pipeline)
		}
		if r.Batch == 1 && (r.PipelineVsBatch1 != 1 || r.BareVsBatch1 != 1) {
			t.Errorf("%s: ratios to batch 1 %v, %v: want 1", key, r.PipelineVsBatch1, r.BareVsBatch1)
		}
		if r.Modality == "audio" && r.BareMetrics["windows/clip"] < 1 {
			t.Errorf("%s: bare metrics %v: want at least one window per clip", key, r.BareMetrics)
		}
	}
	if len(want) > 0 {
		t.Errorf("rows missing: %v", want)
	}
	if len(rep.Inputs) != 3 {
		t.Errorf("inputs %+v: want one per modality", rep.Inputs)
	}
	md, err := os.ReadFile(mdOut)
	if err != nil || !bytes.Contains(md, []byte("| modality | model | batch | pipeline items/s")) || bytes.Count(md, []byte("\n| ")) != 7 {
		t.Errorf("Markdown report (%v):\n%s", err, md)
	}
	assertPNG(t, plotOut)
}

func TestBenchExtractBadFlags(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--batch", "0"}, "--batch"},
		{[]string{"--batch", "1,x"}, "--batch"},
		{[]string{"--modality", "smell"}, "--modality"},
		{[]string{"--items", "-1"}, "--items"},
		{[]string{"--duration", "0s"}, "--duration"},
		{[]string{"--items", "5", "--duration", "1s"}, "--items and --duration"},
		{[]string{"--rounds", "0"}, "--rounds"},
		{[]string{"--generated", "gpt-2"}, "--generated"},
		{[]string{"--generated", "minilm", "--precision", "fp16"}, "--precision"},
		{[]string{"--generated", "minilm", "--seq", "2"}, "--seq"},
	} {
		code, txt := e.run(append([]string{"bench", "extract"}, c.args...)...)
		if code == 0 || !strings.Contains(txt, c.want) {
			t.Errorf("bench extract %v: exit %d, want non-zero and a message naming %s:\n%s", c.args, code, c.want, txt)
		}
	}
	for _, cmd := range []string{"extract", "ingest"} {
		code, txt := e.run("bench", cmd, "--help")
		if code != 0 || !strings.Contains(txt, "baseline") || !strings.Contains(txt, "Usage:") {
			t.Errorf("bench %s --help: exit %d\n%s", cmd, code, txt)
		}
	}
}
