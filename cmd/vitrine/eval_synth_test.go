package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestEvalSynth(t *testing.T) {
	e := newEnv(t)
	if code, txt := e.run("eval", "synth"); code == 0 || !strings.Contains(txt, "--out") {
		t.Errorf("without --out: exit %d\n%s", code, txt)
	}
	path := filepath.Join(t.TempDir(), "u.data")
	code, txt := e.run("eval", "synth", "--out", path, "--users", "200", "--items", "300", "--per-user", "40", "--clusters", "5")
	if code != 0 || !strings.Contains(txt, "interactions") {
		t.Fatalf("eval synth: exit %d\n%s", code, txt)
	}
	// The file is what eval recs reads, ratings included.
	code, txt = e.run("eval", "recs", "--interactions", path, "--methods", "popularity,itemknn", "--factors", "8")
	if code != 0 || !strings.Contains(txt, "users evaluated: 200") || !strings.Contains(txt, "bias-baseline") {
		t.Errorf("eval recs on the synthetic file: exit %d\n%s", code, txt)
	}
}
