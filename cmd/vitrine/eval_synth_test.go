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
	// Sized by the total, without timestamps: leave-one-out then reads
	// each user's lines in file order.
	plain := filepath.Join(t.TempDir(), "pairs.txt")
	code, txt = e.run("eval", "synth", "--out", plain, "--users", "150", "--items", "400", "--interactions", "1500", "--timestamps=false")
	if code != 0 {
		t.Fatalf("eval synth --interactions: exit %d\n%s", code, txt)
	}
	code, txt = e.run("eval", "recs", "--interactions", plain, "--protocol", "leave-one-out", "--methods", "popularity,als,hybrid", "--factors", "8")
	// One validation and one test interaction per user.
	if code != 0 || !strings.Contains(txt, "valid 150, test 150") || !strings.Contains(txt, "hybrid weights") {
		t.Errorf("eval recs leave-one-out on the file without timestamps: exit %d\n%s", code, txt)
	}
}

// The sequential mode writes a file leave-one-out reads by time, where the
// planted successors make transitions beat popularity; an unknown mode
// fails.
func TestEvalSynthSequential(t *testing.T) {
	e := newEnv(t)
	path := filepath.Join(t.TempDir(), "seq.data")
	code, txt := e.run("eval", "synth", "--mode", "sequential", "--out", path, "--users", "300", "--items", "200", "--per-user", "12", "--clusters", "4")
	if code != 0 || !strings.Contains(txt, "interactions") {
		t.Fatalf("eval synth --mode sequential: exit %d\n%s", code, txt)
	}
	code, txt = e.run("eval", "recs", "--interactions", path, "--protocol", "leave-one-out", "--methods", "popularity,transitions")
	if code != 0 || !strings.Contains(txt, "users evaluated: 300") || !strings.Contains(txt, "transitions") {
		t.Errorf("eval recs on the sequential file: exit %d\n%s", code, txt)
	}
	if code, txt := e.run("eval", "synth", "--mode", "shuffled", "--out", path); code == 0 {
		t.Errorf("--mode shuffled: exit 0\n%s", txt)
	}
}
