// Package procstat reads a process's CPU time from Linux's /proc/PID/stat,
// for the benchmarks that account the CPU time of PostgreSQL's server
// processes beside their own (an index build's backends, an ingest's
// database). The standard library reads only the calling process's own
// usage (syscall.Getrusage), and no maintained module parses a single
// stat line without pulling in a whole process library, hence these few
// lines.
package procstat

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// ClockTicks is the unit of utime and stime in /proc/PID/stat (USER_HZ,
// 100 on every Linux architecture Vitrine runs on).
const ClockTicks = 100

// Ticks is utime + stime (fields 14 and 15) of a /proc/PID/stat line, in
// ClockTicks; the fields are counted after the command name, which may
// hold spaces and parentheses.
func Ticks(stat []byte) (int64, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("proc stat %q: no command name", stat)
	}
	f := bytes.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("proc stat %q: %d fields after the command name", stat, len(f))
	}
	utime, err1 := strconv.ParseInt(string(f[11]), 10, 64)
	stime, err2 := strconv.ParseInt(string(f[12]), 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("proc stat: %w", err)
	}
	return utime + stime, nil
}
