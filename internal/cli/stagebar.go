package cli

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// StageBar draws a multi-step job's progress on one line of w: the step, a
// bar and an ETA when the step's length is known, else the count so far and
// its rate; a new step starts a new line.
type StageBar struct {
	w           io.Writer
	name        string
	start, step time.Time
	counted     int
	now         func() time.Time
}

// NewStageBar starts a bar on w.
func NewStageBar(w io.Writer) *StageBar {
	return &StageBar{w: w, start: time.Now(), now: time.Now}
}

// Stage draws step name with done of total units (total 0: unknown; done 0:
// started).
func (b *StageBar) Stage(name string, done, total int) {
	now := b.now()
	if name != b.name {
		if b.name != "" {
			fmt.Fprintln(b.w)
		}
		b.name, b.step, b.counted = name, now, 0
	}
	el := now.Sub(b.step)
	switch {
	case total > 0 && done > 0:
		frac := min(float64(done)/float64(total), 1)
		eta := time.Duration(float64(el) * (1 - frac) / frac)
		n := int(frac * 30)
		fmt.Fprintf(b.w, "\r%-16s [%s%s] %d/%d  %s, ETA %s   ", name, strings.Repeat("=", n), strings.Repeat(" ", 30-n),
			done, total, el.Round(time.Second), eta.Round(time.Second))
	case done > 0:
		fmt.Fprintf(b.w, "\r%-16s %d  %s (%.0f/s)   ", name, done, el.Round(time.Second), float64(done)/max(el.Seconds(), 1e-3))
	default:
		fmt.Fprintf(b.w, "\r%-16s ... (%s in all)   ", name, now.Sub(b.start).Round(time.Second))
	}
}

// Count adds one unit to step name (for steps whose length is unknown).
func (b *StageBar) Count(name string) {
	if name != b.name {
		b.Stage(name, 0, 0)
	}
	b.counted++
	b.Stage(name, b.counted, 0)
}

// Done ends the bar's line with the total time.
func (b *StageBar) Done() {
	if b.name != "" {
		fmt.Fprintf(b.w, "\ndone in %s\n", b.now().Sub(b.start).Round(time.Second))
	}
}
