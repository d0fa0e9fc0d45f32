package cli

import (
	"strings"
	"testing"
	"time"
)

func TestStageBar(t *testing.T) {
	var b strings.Builder
	bar := NewStageBar(&b)
	clock := bar.start
	bar.now = func() time.Time { return clock }
	bar.Stage("read", 0, 0)
	clock = clock.Add(2 * time.Second)
	bar.Stage("read", 10, 0)
	bar.Stage("fit", 0, 4)
	clock = clock.Add(10 * time.Second)
	bar.Stage("fit", 1, 4)
	bar.Count("search")
	bar.Count("search")
	bar.Done()
	out := b.String()
	for _, want := range []string{
		"read             ... (0s in all)",
		"read             10  2s (5/s)",
		"\rfit              [=======                       ] 1/4  10s, ETA 30s",
		"\n\rsearch           ... (12s in all)",
		"\rsearch           2  0s",
		"\ndone in 12s\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%q", want, out)
		}
	}
}
