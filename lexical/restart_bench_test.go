package lexical_test

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/internal/synth"
	"github.com/vitrinehq/vitrine/internal/testdb"
	"github.com/vitrinehq/vitrine/lexical"
	"github.com/vitrinehq/vitrine/store"
)

// BenchmarkRestart is a restarting server's wait for its lexical index:
// a Syncer started on a PostgreSQL database of n synthetic products (the
// bench generator's, loaded before the timer) until its snapshot is
// searchable (the change log written in the gap wait before it is
// replayed afterwards, and here holds nothing). cpu-s/op is the process's CPU time per start (the database
// server's is not counted), steadier than wall time on a shared machine:
// go test -run '^$' -bench Restart/100000 -benchtime 1x ./lexical.
func BenchmarkRestart(b *testing.B) {
	for _, n := range []int{100_000, 300_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			st, err := store.Open(b.Context(), testdb.URL(b))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			page := make([]catalog.Product, 0, 2000)
			for i := range n {
				s := synth.Gen(1, i, synth.Options{})
				page = append(page, catalog.Product{ID: s.ID, Title: s.Title, Description: s.Description, Brand: s.Brand,
					Category: s.Category, Price: &s.Price, Currency: s.Currency, Attributes: s.Attributes})
				if len(page) == cap(page) || i == n-1 {
					if _, err := st.UpsertProducts(b.Context(), page); err != nil {
						b.Fatal(err)
					}
					page = page[:0]
				}
			}
			cpu := cpuTime()
			for b.Loop() {
				// A gap wait shorter than the time since the load: the
				// start replays none of the load's change-log rows, as
				// a restart long after its writes.
				stop, err := lexical.NewSyncer(st, lexical.WithGapWait(time.Millisecond)).Start(b.Context())
				if err != nil {
					b.Fatal(err)
				}
				stop()
			}
			b.ReportMetric((cpuTime()-cpu).Seconds()/float64(b.N), "cpu-s/op")
		})
	}
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
