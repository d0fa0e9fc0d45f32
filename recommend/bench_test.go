package recommend_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/recommend"
)

// powerLaw generates n events of uniformly chosen users on items drawn
// with weight (rank+1)^-0.8, a long-tailed catalogue (the top item gets a
// few percent of the events, most items a handful).
func powerLaw(users, items, n int, seed uint64) []recommend.Interaction {
	rng := rand.New(rand.NewPCG(seed, 2))
	uids, iids := make([]string, users), make([]string, items)
	for u := range uids {
		uids[u] = fmt.Sprintf("u%06d", u)
	}
	for i := range iids {
		iids[i] = fmt.Sprintf("i%06d", i)
	}
	cdf := make([]float64, items)
	var sum float64
	for r := range cdf {
		sum += math.Pow(float64(r+1), -0.8)
		cdf[r] = sum
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	values := []float64{0.5, 1, 1, 3, 5}
	out := make([]recommend.Interaction, n)
	for k := range out {
		i, _ := slices.BinarySearch(cdf, rng.Float64()*sum)
		out[k] = recommend.Interaction{
			User: uids[rng.IntN(users)], Item: iids[min(i, items-1)],
			Value: values[rng.IntN(len(values))], Time: t0.Add(time.Duration(rng.IntN(90*24)) * time.Hour),
		}
	}
	return out
}

// BenchmarkFit reports wall seconds per fit (fit-s) and the process's CPU
// seconds per fit (cpu-s; about 2× fit-s when both cores are free, so a
// lower ratio means the machine was shared) on power-law data:
// 1M events (50k users × 20k items) and 100k (5k × 2k). The registry's
// defaults apply (recommend.New, what training serves and eval measures):
// ALS 64 factors, 15 sweeps, 3 CG steps; BPR 64 factors, 15 epochs. Run it
// with -benchtime 1x.
func BenchmarkFit(b *testing.B) {
	sizes := []struct {
		name              string
		users, items, num int
	}{
		{"100k", 5_000, 2_000, 100_000},
		{"1M", 50_000, 20_000, 1_000_000},
	}
	models := []struct{ name, method string }{
		{"ALS", "als"}, {"BPR", "bpr"}, {"ItemKNN", "itemknn"}, {"Popularity", "popularity"},
	}
	ctx := context.Background()
	for _, size := range sizes {
		b.Run(size.name, func(b *testing.B) {
			events := powerLaw(size.users, size.items, size.num, 1)
			var d *recommend.Dataset
			b.Run("Dataset", func(b *testing.B) {
				for b.Loop() {
					var err error
					if d, err = recommend.NewDataset(events); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "fit-s")
			})
			if d == nil {
				var err error
				if d, err = recommend.NewDataset(events); err != nil {
					b.Fatal(err)
				}
			}
			b.Logf("%s: %d users, %d items, %d pairs", size.name, d.NumUsers(), d.NumItems(), d.NNZ())
			for _, m := range models {
				b.Run(m.name, func(b *testing.B) {
					var cpu float64
					for b.Loop() {
						s, err := recommend.New(m.method, recommend.Params{})
						if err != nil {
							b.Fatal(err)
						}
						c0 := cpuSeconds()
						if err := s.Fit(ctx, d); err != nil {
							b.Fatal(err)
						}
						cpu += cpuSeconds() - c0
					}
					b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "fit-s")
					b.ReportMetric(cpu/float64(b.N), "cpu-s")
				})
			}
		})
	}
}

// BenchmarkRecommend is one top-10 request against a 20k-item catalogue:
// score every item, mask the user's own, select.
func BenchmarkRecommend(b *testing.B) {
	d, err := recommend.NewDataset(powerLaw(5_000, 20_000, 200_000, 3))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	user := d.UserID(d.NumUsers() / 2)
	for _, name := range recommend.Methods() {
		model, err := recommend.New(name, recommend.Params{Iterations: 2})
		if err != nil {
			b.Fatal(err)
		}
		if err := model.Fit(ctx, d); err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if rs := model.Recommend(user, 10, nil); len(rs) != 10 {
					b.Fatalf("%d results", len(rs))
				}
			}
		})
	}
}
