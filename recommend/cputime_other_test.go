//go:build !unix

package recommend_test

// cpuSeconds is unavailable here; the cpu-s metric reads 0.
func cpuSeconds() float64 { return 0 }
