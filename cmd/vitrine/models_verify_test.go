package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/vitrinehq/vitrine/internal/testenv"
)

// TestModelsVerify runs `vitrine models verify` as a child process on the
// real models and ONNX Runtime, and on manifests broken in the ways verify
// exists to catch: a dimension the graph does not produce, and files that
// were never fetched.
func TestModelsVerify(t *testing.T) {
	base := newEnv(t)
	root := testenv.Root(t)

	// broken holds manifests edited from the real ones.
	broken := t.TempDir()
	edit := func(src, dst string, replace ...string) {
		b, err := os.ReadFile(filepath.Join(root, "models", src))
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		for i := 0; i < len(replace); i += 2 {
			if !strings.Contains(s, replace[i]) {
				t.Fatalf("%s has no %q to replace", src, replace[i])
			}
			s = strings.Replace(s, replace[i], replace[i+1], 1)
		}
		if err := os.WriteFile(filepath.Join(broken, dst), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	edit("glove-100d.yaml", "glove-100d.yaml", "\ndim: 100\n", "\ndim: 50\n")
	edit("mobilenetv2-int8.yaml", "mobilenetv2-unfetched.yaml", "name: mobilenetv2-int8\n", "name: mobilenetv2-unfetched\n")
	edit("speech-embedding.yaml", "speech-embedding.yaml")

	tests := []struct {
		name      string
		manifests string // "" keeps the repository's models/
		args      []string
		wantCode  int
		wantRows  map[string]string // model key -> result column prefix
		wantOut   []string
	}{
		{
			name:     "configured models",
			args:     []string{"models", "verify"},
			wantRows: map[string]string{"glove-100d@1": "OK", "mobilenetv2-int8-centre-flip@1": "OK", "speech-embedding@1": "OK"},
			wantOut:  []string{"text", "image", "audio", " 100 ", " 1280 ", " 96 "},
		},
		{
			name:     "named model only",
			args:     []string{"models", "verify", "speech-embedding"},
			wantRows: map[string]string{"speech-embedding@1": "OK"},
		},
		{
			name:     "unknown name loads nothing",
			args:     []string{"models", "verify", "glove-100d", "no-such-model"},
			wantCode: 1,
			wantRows: map[string]string{},
			wantOut:  []string{`no model "no-such-model"`},
		},
		{
			name:      "wrong dimension and missing files",
			manifests: broken,
			args:      []string{"models", "verify", "glove-100d", "mobilenetv2-unfetched", "speech-embedding"},
			wantCode:  1,
			wantRows: map[string]string{
				"glove-100d@1":            "FAIL: encode: input rejected: model glove-100d@1 produced 100 dimensions, manifest says 50",
				"mobilenetv2-unfetched@1": "FAIL: load model mobilenetv2-unfetched@1",
				"speech-embedding@1":      "OK",
			},
			wantOut: []string{
				"vitrine: models verify: 2 of 3 models failed",
				"run `vitrine models fetch mobilenetv2-unfetched`",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &env{t: t, url: base.url, vars: slices.Clone(base.vars)}
			if tt.manifests != "" {
				// Later entries win when exec dedups the environment.
				e.vars = append(e.vars, "VITRINE_MODELS_MANIFESTS="+tt.manifests)
			}
			code, out := e.run(tt.args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\n%s", code, tt.wantCode, out)
			}
			rows := verifyRows(out)
			for key, want := range tt.wantRows {
				got, ok := rows[key]
				if !ok {
					t.Errorf("no row for %s\n%s", key, out)
					continue
				}
				if !strings.HasPrefix(got, want) {
					t.Errorf("%s: result %q, want it to start with %q", key, got, want)
				}
			}
			if tt.wantRows != nil && len(rows) != len(tt.wantRows) {
				t.Errorf("%d rows, want %d\n%s", len(rows), len(tt.wantRows), out)
			}
			for _, want := range tt.wantOut {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q\n%s", want, out)
				}
			}
		})
	}
}

// verifyRows maps each model key in verify's table to its RESULT column.
func verifyRows(out string) map[string]string {
	// A result row: NAME MODALITY DIM LOAD ENCODE RESULT.
	row := regexp.MustCompile(`^(\S+@\S+)\s+(text|image|audio)\s+\d+\s+\S+\s+\S+\s+(.*)$`)
	rows := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if m := row.FindStringSubmatch(line); m != nil {
			rows[m[1]] = m[3]
		}
	}
	return rows
}
