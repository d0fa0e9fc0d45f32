package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitrinehq/vitrine/internal/testenv"
)

// TestBackfillReduce: `vitrine backfill --reduce 16` on the demo grocery
// catalog (GloVe text + MobileNetV2 images, 1,380 fused dimensions) builds,
// reports and activates a 16-dimension space; with fusion.reduce set to 16
// a plain backfill finds that space; `vectors list` shows it; a reduction
// to the full dimension fails naming the flag.
func TestBackfillReduce(t *testing.T) {
	e := newEnv(t)
	if code, out := e.run("ingest", filepath.Join(testenv.Root(t), "demo", "grocery", "catalog.jsonl")); code != 0 {
		t.Fatalf("ingest: exit %d\n%s", code, out)
	}
	code, out := e.run("backfill", "--reduce", "16", "--activate")
	if code != 0 {
		t.Fatalf("backfill: exit %d\n%s", code, out)
	}
	for _, want := range []string{"reduced 1380 -> 16 dimensions by a PCA fitted on 81 products", "recall@10 against the full vectors",
		"vector space 2 (16 dimensions", "81 vectors written", "models run: map[]", "vector space 2 is ready and active"} {
		if !strings.Contains(out, want) {
			t.Errorf("backfill output lacks %q:\n%s", want, out)
		}
	}
	e.vars = append(e.vars, "VITRINE_FUSION_REDUCE=16")
	if code, out := e.run("backfill"); code != 0 || !strings.Contains(out, "vector space 2 already holds this definition (active)") ||
		!strings.Contains(out, "by a PCA stored with the space") {
		t.Errorf("backfill with fusion.reduce=16: exit %d\n%s", code, out)
	}
	if code, out := e.run("vectors", "list"); code != 0 || !strings.Contains(out, "16") {
		t.Errorf("vectors list: exit %d\n%s", code, out)
	}
	if code, out := e.run("backfill", "--reduce", "1380"); code == 0 || !strings.Contains(out, "--reduce") {
		t.Errorf("backfill --reduce 1380: exit %d\n%s", code, out)
	}
}
