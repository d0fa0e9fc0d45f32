package hnsw

import (
	"bytes"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitrinehq/vitrine/internal/testdb"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/store"
)

func TestParseEf(t *testing.T) {
	tests := []struct {
		in      string
		want    []int
		wantErr bool
	}{
		{"10, 20,40", []int{10, 20, 40}, false},
		{"0", nil, true},
		{"1001", nil, true},
		{"10,x", nil, true},
	}
	for _, tc := range tests {
		got, err := ParseEf(tc.in)
		if (err != nil) != tc.wantErr || len(got) != len(tc.want) {
			t.Errorf("ParseEf(%q) = %v, %v", tc.in, got, err)
		}
	}
}

// TestBench loads a small space into a real database, sweeps it, and
// prepares it again as a reused database.
func TestBench(t *testing.T) {
	ctx := t.Context()
	url := testdb.URL(t)
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	loaded := 0
	b := &Bench{Products: 1200, Dim: 16, Queries: 20, Progress: func(n int) { loaded = n }}
	sp, rep, err := b.Prepare(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if loaded != 1200 || rep.Reused || rep.IndexSeconds <= 0 || sp.Dim != 16 {
		t.Fatalf("prepare: loaded %d, report %+v, space %+v", loaded, rep, sp)
	}
	// The default memory is sized to the graph: 1,200 small vectors get
	// the 64 MB floor.
	if rep.Storage != "vector" || rep.BuildMemory != 64<<20 || rep.IndexBytes <= 0 || !strings.Contains(rep.Build(), "maintenance_work_mem 64 MiB") {
		t.Errorf("build figures: %s (%+v)", rep.Build(), rep)
	}
	if err := b.Sweep(ctx, st, sp, []int{10, 200}, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 3 || rep.Rows[0].EfSearch != 0 || rep.Rows[0].Recall != 1 || rep.Rows[2].Recall < 0.9 || rep.Rows[1].P50 <= 0 {
		t.Errorf("rows %+v", rep.Rows)
	}
	var text, md bytes.Buffer
	if err := Text(&text, rep); err != nil || !strings.Contains(text.String(), "exact scan") ||
		!strings.HasSuffix(text.String(), fmt.Sprintf("HNSW index scans during the indexed runs: %d of 40 queries\n", rep.IndexScans)) {
		t.Errorf("text (%v):\n%s", err, text.String())
	}
	if err := Markdown(&md, rep); err != nil || !strings.Contains(md.String(), "| exact scan | 1.0000 |") {
		t.Errorf("markdown (%v):\n%s", err, md.String())
	}
	p := filepath.Join(t.TempDir(), "hnsw.png")
	if err := Plot(p, rep); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if cfg, err := png.DecodeConfig(f); err != nil || cfg.Width < 300 {
		t.Errorf("plot %+v, %v", cfg, err)
	}

	again := &Bench{Products: 1200, Dim: 16, Queries: 5}
	_, rep2, err := again.Prepare(ctx, st)
	if err != nil || !rep2.Reused || rep2.Rebuilt || rep2.IndexSeconds != rep.IndexSeconds || rep2.M != 16 || rep2.EfConstruction != store.DefaultHNSWEfConstruction {
		t.Errorf("reused: %+v, %v; want the first build's figures %+v", rep2, err, rep)
	}
	rebuild(t, url, rep)
}

// rebuild builds the loaded index again with other graph parameters.
func rebuild(t *testing.T, url string, first Report) {
	t.Helper()
	ctx := t.Context()
	st, err := store.Open(ctx, url, store.WithHNSWGraph(8, 24))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	b := &Bench{Products: 1200, Dim: 16, Queries: 20, Rebuild: true}
	sp, rep, err := b.Prepare(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Reused || !rep.Rebuilt || rep.LoadSeconds != first.LoadSeconds || rep.IndexSeconds <= 0 || rep.M != 8 || rep.EfConstruction != 24 ||
		rep.IndexBytes <= 0 || !strings.Contains(rep.Build(), "m 8, ef_construction 24") {
		t.Fatalf("rebuilt: %+v (%s)", rep, rep.Build())
	}
	if err := b.Sweep(ctx, st, sp, []int{200}, &rep); err != nil || rep.Rows[1].Recall < 0.9 {
		t.Errorf("rebuilt index's recall@10 at ef_search 200: %+v, %v", rep.Rows, err)
	}
	var md bytes.Buffer
	if err := Markdown(&md, rep); err != nil || !strings.Contains(md.String(), "index dropped and built again") {
		t.Errorf("markdown (%v):\n%s", err, md.String())
	}
}

func TestFlags(t *testing.T) {
	for _, c := range []struct {
		name      string
		f         Flags
		m, efc    int
		wantErr   bool
		wantGraph [2]int
	}{
		{"configured graph", Flags{Efs: "40,80"}, 16, 40, false, [2]int{16, 40}},
		{"flags override", Flags{Efs: "40", M: 12, EfConstruction: 32}, 16, 40, false, [2]int{12, 32}},
		{"rebuild needs reuse", Flags{Efs: "40", Rebuild: true}, 16, 40, true, [2]int{16, 40}},
		{"rebuild with reuse", Flags{Efs: "40", Rebuild: true, Reuse: true}, 16, 40, false, [2]int{16, 40}},
		{"bad ef", Flags{Efs: "0"}, 16, 40, true, [2]int{16, 40}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, efs, err := c.f.Bench(nil)
			if (err != nil) != c.wantErr || (err == nil && (len(efs) == 0 || b.Rebuild != c.f.Rebuild)) {
				t.Errorf("Bench: %+v, %v, %v", b, efs, err)
			}
			if m, efc := c.f.Graph(c.m, c.efc); [2]int{m, efc} != c.wantGraph {
				t.Errorf("Graph = %d, %d; want %v", m, efc, c.wantGraph)
			}
		})
	}
}

// TestBenchHalfvec loads the vectors as halfvec and checks the index keeps
// its recall through float16 rounding.
func TestBenchHalfvec(t *testing.T) {
	ctx := t.Context()
	st, err := store.Open(ctx, testdb.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	b := &Bench{Products: 600, Dim: 16, Queries: 10, Storage: records.StorageHalfvec}
	sp, rep, err := b.Prepare(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if sp.Storage != records.StorageHalfvec || rep.Storage != records.StorageHalfvec || rep.IndexBytes <= 0 {
		t.Fatalf("space %+v, report %+v", sp, rep)
	}
	if err := b.Sweep(ctx, st, sp, []int{200}, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Rows[1].Recall < 0.9 {
		t.Errorf("halfvec recall@10 at ef_search 200: %.3f", rep.Rows[1].Recall)
	}
}

// TestBenchReduce projects the vectors by PCA and measures recall against
// the full vectors.
func TestBenchReduce(t *testing.T) {
	ctx := t.Context()
	st, err := store.Open(ctx, testdb.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if _, _, err := (&Bench{Products: 10, Dim: 8, Reduce: 8}).Prepare(ctx, st); err == nil {
		t.Error("reducing 8 dimensions to 8 was accepted")
	}
	b := &Bench{Products: 1500, Dim: 32, Queries: 10, Reduce: 24}
	sp, rep, err := b.Prepare(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	// The top 24 of 32 eigenvalues hold at least 24/32 of the variance.
	if sp.Dim != 24 || rep.Reduce != 24 || rep.Explained < 0.75 || rep.Explained > 1 || !strings.Contains(rep.Build(), "PCA to 24 dimensions") {
		t.Fatalf("space %+v, report %+v", sp, rep)
	}
	if err := b.Sweep(ctx, st, sp, []int{200}, &rep); err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Rows {
		if r.Recall <= 0 || r.Recall > 1 {
			t.Errorf("recall against the full vectors at ef_search %d: %.3f", r.EfSearch, r.Recall)
		}
	}
}

func TestDatabase(t *testing.T) {
	for _, c := range []struct {
		b    Bench
		want string
	}{
		{Bench{Products: 100, Dim: 8}, "vitrine_bench_hnsw_100_8"},
		{Bench{Products: 100, Dim: 8, Storage: StorageOf(true)}, "vitrine_bench_hnsw_100_8_half"},
		{Bench{Products: 100, Dim: 8, Storage: StorageOf(false), Reduce: 4}, "vitrine_bench_hnsw_100_8_r4"},
	} {
		if got := c.b.Database(); got != c.want {
			t.Errorf("%+v: %s, want %s", c.b, got, c.want)
		}
	}
}
