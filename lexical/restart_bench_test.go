package lexical_test

import (
	"fmt"
	"os"
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
// searchable (the change log of the gap wait before it is replayed
// afterwards). cpu-s/op is the process's CPU time per start (the
// database server's is not counted), steadier than wall time on a shared
// machine:
// go test -run '^$' -bench Restart/100000 -benchtime 1x ./lexical.
//
// With VITRINE_RESTART_DATABASE_URL set, Restart/existing starts on that
// database instead, read only (e.g. the 1,000,000-product bench database
// `vitrine bench api --products 1000000` loads).
func BenchmarkRestart(b *testing.B) {
	if url := os.Getenv("VITRINE_RESTART_DATABASE_URL"); url != "" {
		b.Run("existing", func(b *testing.B) {
			st, err := store.Open(b.Context(), url)
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			restart(b, st)
		})
	}
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
			restart(b, st)
		})
	}
}

// restart times Syncers started on st until their snapshot is ready, and
// reports the products indexed and the CPU time per start.
func restart(b *testing.B, st *store.Store) {
	cpu := cpuTime()
	n := 0
	for b.Loop() {
		// A gap wait shorter than the time since the load: the start
		// replays none of the load's change-log rows, as a restart long
		// after its writes.
		sy := lexical.NewSyncer(st, lexical.WithGapWait(time.Millisecond))
		stop, err := sy.Start(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		n = sy.Index().Len()
		stop()
	}
	b.ReportMetric((cpuTime()-cpu).Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(n), "products")
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
