// Package hnsw is the engine of `vitrine bench hnsw`: it loads clustered
// random unit vectors into a vector space whose HNSW index is built after
// loading, then measures, for several ef_search values, recall@10 against
// the exact scan and the latency of one query at a time, beside the exact
// scan's own latency from the same run. It owns the report, its Markdown
// table and its plot.
package hnsw

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vitrinehq/vitrine/bench"
	"github.com/vitrinehq/vitrine/bench/load"
	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/fusion/reduce"
	"github.com/vitrinehq/vitrine/internal/ctxtime"
	"github.com/vitrinehq/vitrine/records"
)

// K is the depth of every query.
const K = 10

// Row is one ef_search setting's figures.
type Row struct {
	EfSearch int           `json:"ef_search"` // 0: exact scan
	Recall   float64       `json:"recall_at_10"`
	P50      time.Duration `json:"p50_ns"`
	P99      time.Duration `json:"p99_ns"`
}

// Report is what a run measured.
type Report struct {
	Products int `json:"products"`
	Dim      int `json:"dim"`
	Queries  int `json:"queries"`
	// Storage is the space's column type: vector, or halfvec (float16).
	Storage      records.Storage `json:"storage"`
	LoadSeconds  float64         `json:"load_seconds"`
	IndexSeconds float64         `json:"index_build_seconds"`
	// IndexCPUSeconds is the CPU time (user and system) the build's server
	// processes spent, its backend's and its parallel workers': on a
	// shared machine the comparable figure, where wall time depends on the
	// load. 0: not measured (a reused build, or a server elsewhere).
	IndexCPUSeconds float64 `json:"index_build_cpu_seconds"`
	// BuildMemory is the maintenance_work_mem the build got and IndexBytes
	// the index's size on disk.
	BuildMemory int64 `json:"build_memory_bytes"`
	IndexBytes  int64 `json:"index_bytes"`
	// M and EfConstruction are the index's graph parameters.
	M              int `json:"m"`
	EfConstruction int `json:"ef_construction"`
	// Reduce is the PCA dimension the vectors were projected to (0: none)
	// and Explained the share of the variance the projection kept; then
	// every recall, the exact scan's included, is against the exact
	// neighbours among the full vectors.
	Reduce    int     `json:"reduce,omitempty"`
	Explained float64 `json:"explained_variance,omitempty"`
	// Reused: loaded by an earlier run, whose load and build figures
	// these are unless Rebuilt: the index was dropped and built again.
	Reused     bool  `json:"reused"`
	Rebuilt    bool  `json:"rebuilt,omitempty"`
	IndexScans int64 `json:"index_scans"`
	Rows       []Row `json:"rows"`
}

// Store is the database the benchmark loads and queries.
type Store interface {
	bench.Commenter
	ActiveSpace(ctx context.Context) (records.Space, error)
	CreateSpace(ctx context.Context, ns records.NewSpace) (records.Space, error)
	BuildSpaceIndex(ctx context.Context, version int) error
	RebuildSpaceIndex(ctx context.Context, version int) error
	IndexBuildBackends(ctx context.Context) ([]int, error)
	ActivateSpace(ctx context.Context, version int) error
	UpsertProducts(ctx context.Context, ps []catalog.Product) ([]records.UpsertResult, error)
	PutProductVectors(ctx context.Context, version int, vs []records.ProductVector) error
	Nearest(ctx context.Context, q records.NearestQuery) ([]records.Neighbor, error)
	SpaceIndexScans(ctx context.Context, version int) (int64, error)
	SpaceIndexFootprint(ctx context.Context, version int) (records.IndexFootprint, error)
}

// Bench is one benchmark over one database: Products vectors of Dim
// dimensions around 64 cluster centres, queried Queries times per setting.
type Bench struct {
	Products, Dim, Queries int
	// Storage is the space's column type (default vector).
	Storage records.Storage
	// Reduce, when positive, projects the vectors to that many dimensions
	// with a PCA fitted on the first of them (fusion/reduce) before they
	// are stored and queried; recall is then measured against the full
	// vectors, kept in memory.
	Reduce int
	// Progress, when set, gets the vectors loaded so far.
	Progress func(done int)
	// Rebuild, on a reused database, drops the index and builds it again
	// with the store's graph parameters, measuring the build.
	Rebuild bool
	// CPUInterval is how often a build's processes' CPU time is sampled
	// (default 100 ms).
	CPUInterval time.Duration
	// StatsDelay is how long to wait before reading the index scan count:
	// backends publish their statistics up to 10 s late.
	StatsDelay time.Duration

	rng     *rand.Rand
	centres [][]float32
	full    [][]float32 // with Reduce: every vector before projection
	pca     *reduce.PCA
}

// ParseEf reads a comma-separated list of ef_search values from 1 to 1000.
func ParseEf(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 1000 {
			return nil, fmt.Errorf("%q is not an integer from 1 to 1000", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func (b *Bench) init() {
	if b.rng != nil {
		return
	}
	b.rng = rand.New(rand.NewPCG(7, 11))
	b.centres = make([][]float32, 64)
	for i := range b.centres {
		b.centres[i] = RandUnit(b.rng, b.Dim, nil, 0)
	}
}

// Prepare loads the vectors and builds the index unless the database's
// active space already holds them (a reused database, whose recorded
// build figures are returned, or with Rebuild whose index is built again).
// It returns the space and a report with the build figures filled in.
func (b *Bench) Prepare(ctx context.Context, st Store) (records.Space, Report, error) {
	b.init()
	rep := Report{Products: b.Products, Dim: b.Dim, Queries: b.Queries, Storage: b.storage(), Reduce: b.Reduce}
	if err := b.fitReduction(&rep); err != nil {
		return records.Space{}, rep, err
	}
	if sp, err := st.ActiveSpace(ctx); err == nil {
		built, ok := bench.RecalledBuild(ctx, st)
		rep.Reused, rep.LoadSeconds, rep.IndexSeconds, rep.Storage = ok, built.LoadSeconds, built.IndexSeconds, sp.Storage
		if b.Rebuild {
			rep.Rebuilt = true
			return sp, rep, b.build(ctx, st, sp, &rep, st.RebuildSpaceIndex)
		}
		return sp, rep, rep.footprint(ctx, st, sp)
	}
	start := time.Now()
	sp, err := b.load(ctx, st)
	if err != nil {
		return sp, rep, err
	}
	rep.LoadSeconds = time.Since(start).Seconds()
	if err := b.build(ctx, st, sp, &rep, st.BuildSpaceIndex); err != nil {
		return sp, rep, err
	}
	return sp, rep, st.ActivateSpace(ctx, sp.Version)
}

// build runs a build of the space's index, measuring its wall and CPU
// time, then records it and reads the index's footprint. A build whose
// CPU time cannot be read here still counts, without it.
func (b *Bench) build(ctx context.Context, st Store, sp records.Space, rep *Report, run func(context.Context, int) error) error {
	meter := newCPUMeter(st, cmp.Or(b.CPUInterval, 100*time.Millisecond), "/proc")
	start := time.Now()
	err, cpuErr := meter.measure(ctx, func() error { return run(ctx, sp.Version) })
	if err != nil {
		return err
	}
	rep.IndexSeconds = time.Since(start).Seconds()
	if cpuErr == nil {
		rep.IndexCPUSeconds = meter.seconds()
	}
	if err := rep.footprint(ctx, st, sp); err != nil {
		return err
	}
	return bench.RecordBuild(ctx, st, bench.Build{LoadSeconds: rep.LoadSeconds, IndexSeconds: rep.IndexSeconds})
}

// footprint fills in the index's memory, size and graph parameters.
func (rep *Report) footprint(ctx context.Context, st Store, sp records.Space) error {
	f, err := st.SpaceIndexFootprint(ctx, sp.Version)
	rep.BuildMemory, rep.IndexBytes, rep.M, rep.EfConstruction = f.BuildMemory, f.IndexBytes, f.M, f.EfConstruction
	return err
}

// load creates products and their clustered vectors in a new space whose
// index is built after loading.
func (b *Bench) load(ctx context.Context, st Store) (records.Space, error) {
	dim := b.Dim
	if b.pca != nil {
		dim = b.pca.Dim()
	}
	sp, err := st.CreateSpace(ctx, records.NewSpace{Name: "bench-hnsw", Dim: dim, Storage: b.storage(), DeferIndex: true})
	if err != nil {
		return sp, err
	}
	const batch = 1000
	for lo := 0; lo < b.Products; lo += batch {
		hi := min(lo+batch, b.Products)
		ps := make([]catalog.Product, 0, hi-lo)
		vs := make([]records.ProductVector, 0, hi-lo)
		for i := lo; i < hi; i++ {
			id := productID(i)
			ps = append(ps, catalog.Product{ID: id, Title: id})
			v, err := b.vector(i)
			if err != nil {
				return sp, err
			}
			vs = append(vs, records.ProductVector{ProductID: id, Vector: v, SourceHash: []byte{1}})
		}
		if _, err := st.UpsertProducts(ctx, ps); err != nil {
			return sp, err
		}
		if err := st.PutProductVectors(ctx, sp.Version, vs); err != nil {
			return sp, err
		}
		if b.Progress != nil {
			b.Progress(hi)
		}
	}
	return sp, nil
}

// StorageOf is halfvec when halfvec is set, else vector.
func StorageOf(halfvec bool) records.Storage {
	if halfvec {
		return records.StorageHalfvec
	}
	return records.StorageVector
}

// Database is the name of the bench's own database: one per size,
// dimension, storage and reduction, so each can be reused.
func (b *Bench) Database() string {
	name := fmt.Sprintf("vitrine_bench_hnsw_%d_%d", b.Products, b.Dim)
	if b.storage() == records.StorageHalfvec {
		name += "_half"
	}
	if b.Reduce > 0 {
		name += fmt.Sprintf("_r%d", b.Reduce)
	}
	return name
}

// storage is b.Storage, vector by default.
func (b *Bench) storage() records.Storage {
	if b.Storage == "" {
		return records.StorageVector
	}
	return b.Storage
}

// near is a random unit vector near a random centre.
func (b *Bench) near() []float32 {
	return RandUnit(b.rng, b.Dim, b.centres[b.rng.IntN(len(b.centres))], 0.5)
}

// Sweep runs the exact scan, then every ef_search setting, over the same
// queries, and fills rep's rows and index scan count.
func (b *Bench) Sweep(ctx context.Context, st Store, sp records.Space, efs []int, rep *Report) error {
	b.init()
	full := make([][]float32, b.Queries)
	for i := range full {
		full[i] = b.near()
	}
	qs, err := b.project(full)
	if err != nil {
		return err
	}
	truth := make([]map[string]bool, len(qs))
	var exactHit, exactTotal int
	exact, err := b.run(ctx, st, sp, qs, 0, func(i int, nn []records.Neighbor) {
		truth[i] = map[string]bool{}
		if b.full != nil {
			truth[i] = b.fullTruth(full[i])
		}
		for _, n := range nn {
			if b.full == nil {
				truth[i][n.ProductID] = true
			}
			if truth[i][n.ProductID] {
				exactHit++
			}
		}
		exactTotal += len(truth[i])
	})
	if err != nil {
		return err
	}
	rep.Rows = []Row{summarise(0, float64(exactHit)/float64(max(exactTotal, 1)), exact)}
	before, err := st.SpaceIndexScans(ctx, sp.Version)
	if err != nil {
		return err
	}
	for _, ef := range efs {
		var hit, total int
		lat, err := b.run(ctx, st, sp, qs, ef, func(i int, nn []records.Neighbor) {
			for _, n := range nn {
				if truth[i][n.ProductID] {
					hit++
				}
			}
			total += len(truth[i])
		})
		if err != nil {
			return err
		}
		rep.Rows = append(rep.Rows, summarise(ef, float64(hit)/float64(max(total, 1)), lat))
	}
	if err := ctxtime.Sleep(ctx, b.StatsDelay); err != nil {
		return err
	}
	after, err := st.SpaceIndexScans(ctx, sp.Version)
	rep.IndexScans = after - before
	return err
}

// run times each query at ef (0: the exact scan), one at a time, and hands
// each result to seen.
func (b *Bench) run(ctx context.Context, st Store, sp records.Space, qs [][]float32, ef int, seen func(int, []records.Neighbor)) ([]time.Duration, error) {
	lat := make([]time.Duration, len(qs))
	for i, q := range qs {
		t0 := time.Now()
		nn, err := st.Nearest(ctx, records.NearestQuery{Space: sp.Version, Vector: q, K: K, EfSearch: ef, Exact: ef == 0})
		if err != nil {
			return nil, err
		}
		lat[i] = time.Since(t0)
		seen(i, nn)
	}
	return lat, nil
}

func summarise(ef int, recall float64, lat []time.Duration) Row {
	s := slices.Clone(lat)
	slices.Sort(s)
	return Row{EfSearch: ef, Recall: recall, P50: load.Percentile(s, 50), P99: load.Percentile(s, 99)}
}

// RandUnit is a random unit vector, near centre (noise scale) when given.
func RandUnit(r *rand.Rand, dim int, centre []float32, noise float64) []float32 {
	v := make([]float32, dim)
	var n float64
	for i := range v {
		x := r.NormFloat64()
		if centre != nil {
			x = float64(centre[i])*math.Sqrt(float64(dim)) + noise*x*3
		}
		v[i] = float32(x)
		n += x * x
	}
	n = math.Sqrt(n)
	for i := range v {
		v[i] = float32(float64(v[i]) / n)
	}
	return v
}
