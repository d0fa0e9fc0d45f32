package verify

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/internal/testenv"
	"github.com/vitrinehq/vitrine/models"
)

func TestDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "-"},
		{1234567 * time.Nanosecond, "1.2ms"},
		{2 * time.Second, "2s"},
	}
	for _, tt := range tests {
		if got := Duration(tt.d); got != tt.want {
			t.Errorf("Duration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestAll(t *testing.T) {
	good := testenv.Manifest(t, "glove-100d")
	bad := good
	bad.Name = "missing-files"
	var b strings.Builder
	err := All(t.Context(), &b, testenv.Runtime(t), []models.Manifest{good, bad}, testenv.ModelDir(t), extractors.Options{MaxBatch: 1})
	if err == nil || !strings.Contains(err.Error(), "models verify: 1 of 2 models failed") {
		t.Errorf("error: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "NAME ") || !strings.HasSuffix(lines[1], "OK") || !strings.Contains(lines[2], "FAIL: ") {
		t.Errorf("table:\n%s", b.String())
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	b.Reset()
	if err := All(ctx, &b, testenv.Runtime(t), []models.Manifest{good, good}, testenv.ModelDir(t), extractors.Options{MaxBatch: 1}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if n := strings.Count(b.String(), "\n"); n != 2 {
		t.Errorf("cancelled run verified %d models, want it to stop after 1:\n%s", n-1, b.String())
	}
}
