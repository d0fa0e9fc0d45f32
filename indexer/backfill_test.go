package indexer_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/fusion"
	"github.com/vitrinehq/vitrine/indexer"
	"github.com/vitrinehq/vitrine/internal/apitest"
	"github.com/vitrinehq/vitrine/ranking"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/store"
)

// groceryFixture is the demo grocery catalog (81 products, text and a
// photo each) ingested with the real GloVe and MobileNetV2 models into an
// active full-dimension space.
type groceryFixture struct {
	st          *store.Store
	db          *pgxpool.Pool // raw SQL on the same database
	ix          *indexer.Indexer
	text, image extractors.Encoder
	spec        fusion.Spec
	ids         []string
}

func newGrocery(t *testing.T) groceryFixture {
	t.Helper()
	env := apitest.New(t)
	spec, err := fusion.ParseSpec(env.Space.Spec)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := env.Encoders.ByModality("text")
	image, _ := env.Encoders.ByModality("image")
	ps, err := env.Store.ProductsAfter(t.Context(), "", 100)
	if err != nil {
		t.Fatal(err)
	}
	g := groceryFixture{st: env.Store, db: env.DB, ix: env.Indexer, text: text, image: image, spec: spec}
	for _, p := range ps {
		g.ids = append(g.ids, p.ID)
	}
	return g
}

// TestBackfillReduced builds reduced spaces from the demo grocery catalog
// with the real models: the fit reuses the stored embeddings, the space is
// ready at the reduced dimension, each product's nearest neighbour is
// itself, a text query finds its products, a killed backfill resumes into
// the same space with the same fit, and impossible reductions are refused.
func TestBackfillReduced(t *testing.T) {
	g := newGrocery(t)
	ctx := t.Context()
	rep, err := indexer.Backfill(ctx, g.st, g.ix, g.spec.Reduced(16), indexer.BackfillOptions{BatchSize: 32})
	if err != nil {
		t.Fatal(err)
	}
	r := rep.Reduction
	if !rep.Finished || rep.Space.Dim != 16 || rep.Space.State != records.SpaceReady || rep.Written != 81 || len(rep.Encoded) != 0 {
		t.Fatalf("space of %d dimensions %s, finished %v, %d written, models run %v", rep.Space.Dim, rep.Space.State, rep.Finished, rep.Written, rep.Encoded)
	}
	if r == nil || r.FullDim != 1380 || r.Dim != 16 || r.Sample != 81 || r.Reused || !(r.Explained > 0.3 && r.Explained < 1) || !(r.Recall > 0.3) {
		t.Fatalf("reduction %+v", r)
	}
	t.Logf("1380 -> 16 dimensions on the grocery demo: %.1f%% of the variance, recall@10 %.3f", 100*r.Explained, r.Recall)
	checkReducedSearch(t, g, rep.Space)

	// Killed after its first batch, a backfill to 8 dimensions resumes
	// into the same space with the fit it stored.
	killed, cancel := context.WithCancel(ctx)
	_, err = indexer.Backfill(killed, g.st, g.ix, g.spec.Reduced(8), indexer.BackfillOptions{BatchSize: 16,
		Progress: func(int64, int64) { cancel() }})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("killed backfill: %v", err)
	}
	spaces, err := g.st.ListSpaces(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var building records.Space
	for _, s := range spaces {
		if s.Version > building.Version {
			building = s
		}
	}
	if building.State != records.SpaceBuilding || building.Dim != 8 {
		t.Fatalf("after the kill: space %d %s, %d dimensions", building.Version, building.State, building.Dim)
	}
	resumed, err := indexer.Backfill(ctx, g.st, g.ix, g.spec.Reduced(8), indexer.BackfillOptions{BatchSize: 16})
	if err != nil {
		t.Fatal(err)
	}
	if building.Vectors == 0 || !resumed.Resumed || resumed.Space.Version != building.Version || resumed.Written != 81-int(building.Vectors) ||
		resumed.Reduction == nil || !resumed.Reduction.Reused {
		t.Fatalf("resumed space %d (resumed %v), %d written, reduction %+v; want space %d, %d written",
			resumed.Space.Version, resumed.Resumed, resumed.Written, resumed.Reduction, building.Version, 81-building.Vectors)
	}
	after, err := g.st.GetSpace(ctx, building.Version)
	if err != nil || string(after.Spec) != string(building.Spec) {
		t.Errorf("the resumed space's fit changed (%v)", err)
	}
	checkReducedSearch(t, g, after)

	for _, c := range []struct {
		name string
		k    int
		want string
	}{
		{"the full dimension", 1380, "fewer than the fused vectors' 1380"},
		{"more than the sample allows", 81, "a sample of at least 82 products"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := indexer.Backfill(ctx, g.st, g.ix, g.spec.Reduced(c.k), indexer.BackfillOptions{})
			if !errors.Is(err, indexer.ErrBadReduce) || !strings.Contains(err.Error(), "--reduce") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err %v, want ErrBadReduce naming --reduce and %q", err, c.want)
			}
		})
	}
}

// checkReducedSearch: in the reduced space sp, every product's nearest
// neighbour (HNSW) is itself, ranking explains with one reduced part, and
// a text query's best products are apples.
func checkReducedSearch(t *testing.T, g groceryFixture, sp records.Space) {
	t.Helper()
	ctx := t.Context()
	spec, err := fusion.ParseSpec(sp.Spec)
	if err != nil || !spec.Fitted() {
		t.Fatalf("stored spec: %v", err)
	}
	vecs, err := g.st.ProductVectors(ctx, sp.Version, g.ids)
	if err != nil || len(vecs) != 81 {
		t.Fatalf("%d vectors (%v)", len(vecs), err)
	}
	var cands []ranking.Candidate
	for _, id := range g.ids {
		if len(vecs[id]) != sp.Dim {
			t.Fatalf("%s has %d dimensions", id, len(vecs[id]))
		}
		nn, err := g.st.Nearest(ctx, records.NearestQuery{Space: sp.Version, Vector: vecs[id], K: 3})
		if err != nil || len(nn) == 0 || nn[0].ProductID != id {
			t.Errorf("nearest of %s: %+v (%v)", id, nn, err)
		}
		cands = append(cands, ranking.Candidate{ProductID: id, Vector: vecs[id]})
	}
	qv, _, err := g.text.EncodeBatch(ctx, [][]byte{[]byte("apple")})
	if err != nil {
		t.Fatal(err)
	}
	q, err := spec.Query(map[string][]float32{g.text.Key(): qv[0]})
	if err != nil {
		t.Fatal(err)
	}
	res := ranking.ByVector(spec, q, cands, true)
	if len(res) != 81 || len(res[0].Parts) != 1 || res[0].Parts[0].Name != fusion.Reduced {
		t.Fatalf("ranking: %d results, first %+v", len(res), res[0])
	}
	apples := 0
	for _, r := range res[:3] {
		if strings.Contains(r.ProductID, "apple") || strings.Contains(r.ProductID, "delicious") || strings.Contains(r.ProductID, "smith") {
			apples++
		}
	}
	t.Logf("space %d (%d dimensions), query \"apple\": %v %v %v", sp.Version, sp.Dim, res[0].ProductID, res[1].ProductID, res[2].ProductID)
	if apples == 0 {
		t.Errorf("no apple among the best three for \"apple\": %+v", res[:3])
	}
}

// TestBackfillReducedEncodesMissingEmbeddings: a reduction fitted where the
// store lacks a model's embeddings (as after a model change) encodes them
// for the fit and stores them, so the backfill's passes reuse them.
func TestBackfillReducedEncodesMissingEmbeddings(t *testing.T) {
	g := newGrocery(t)
	ctx := t.Context()
	if _, err := g.db.Exec(ctx, `DELETE FROM embeddings WHERE model = $1`, g.image.Key()); err != nil {
		t.Fatal(err)
	}
	rep, err := indexer.Backfill(ctx, g.st, g.ix, g.spec.Reduced(16), indexer.BackfillOptions{BatchSize: 32})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Reduction == nil || rep.Reduction.Sample != len(g.ids) || rep.Reduction.Dim != 16 {
		t.Fatalf("reduction = %+v, want 16 dimensions fitted on all %d products", rep.Reduction, len(g.ids))
	}
	var n int
	if err := g.db.QueryRow(ctx, `SELECT count(*) FROM embeddings WHERE model = $1`, g.image.Key()).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(g.ids) {
		t.Errorf("%d image embeddings stored, want %d", n, len(g.ids))
	}
	if e := rep.Encoded[g.image.Key()]; e != 0 {
		t.Errorf("the passes encoded %d images again, want 0: the fit stored them", e)
	}
}
