package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitrinehq/vitrine/internal/config"
)

// runModels runs `vitrine models ARGS...` against the repository's
// manifests with a fresh home directory.
func runModels(t *testing.T, a *app, args ...string) (string, error) {
	t.Helper()
	cmd := newModelsCmd(a)
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func testModelsApp(t *testing.T) *app {
	t.Helper()
	cfg := config.Default()
	cfg.Home = t.TempDir()
	cfg.Models.Manifests = filepath.Join("..", "..", "models")
	return &app{cfg: cfg, log: slog.New(slog.DiscardHandler)}
}

func TestModelsFetchAndList(t *testing.T) {
	a := testModelsApp(t)
	out, err := runModels(t, a, "list")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"NAME", "glove-100d", "mobilenetv2-int8", "speech-embedding", "onnxruntime-cpu"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "yes") {
		t.Errorf("fresh home lists something as fetched:\n%s", out)
	}

	// The MobileNet file is committed, so this works offline.
	out, err = runModels(t, a, "fetch", "mobilenetv2-int8")
	if err != nil {
		t.Fatalf("fetch: %v\n%s", err, out)
	}
	if !strings.Contains(out, "fetched  mobilenetv2-int8@1/model.onnx") {
		t.Errorf("fetch output:\n%s", out)
	}
	out, err = runModels(t, a, "fetch", "mobilenetv2-int8")
	if err != nil || !strings.Contains(out, "present  mobilenetv2-int8@1/model.onnx") {
		t.Errorf("second fetch: %v\n%s", err, out)
	}
	out, _ = runModels(t, a, "list")
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "mobilenetv2-int8 ") && !strings.HasSuffix(strings.TrimSpace(line), "yes") {
			t.Errorf("list after fetch: %q", line)
		}
	}
	if _, err := os.Stat(filepath.Join(a.cfg.ModelDir(), "mobilenetv2-int8", "1", "model.onnx")); err != nil {
		t.Error(err)
	}
}

func TestModelsFetchErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown model", []string{"fetch", "no-such-model"}, `no model "no-such-model"`},
		{"runtime-only with names", []string{"fetch", "--runtime-only", "glove-100d"}, "--runtime-only takes no model names"},
		{"list takes no args", []string{"list", "x"}, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runModels(t, testModelsApp(t), tt.args...)
			if err == nil || !strings.Contains(err.Error()+out, tt.want) {
				t.Errorf("want error with %q, got %v\n%s", tt.want, err, out)
			}
		})
	}
}
