//go:build unix

package recommend_test

import "syscall"

// cpuSeconds is the process's user+system CPU time: on a shared, noisy
// machine it says what a fit costs even when the wall clock does not.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
