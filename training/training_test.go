package training_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/internal/testdb"
	"github.com/vitrinehq/vitrine/recommend"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/store"
	"github.com/vitrinehq/vitrine/training"
)

// Users in 3 clusters buy mostly from their cluster's 20 products; after
// training, the stored factors put each user's own cluster on top, and an
// erased user's factors are gone.
func TestTrainRecoversPlantedClusters(t *testing.T) {
	ctx := t.Context()
	st, err := store.Open(ctx, testdb.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const clusters, perCluster, users = 3, 20, 60
	var ps []catalog.Product
	for c := range clusters {
		for i := range perCluster {
			ps = append(ps, catalog.Product{ID: fmt.Sprintf("c%d-p%02d", c, i), Title: fmt.Sprintf("Product %d of %d", i, c)})
		}
	}
	if _, err := st.UpsertProducts(ctx, ps); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	now := time.Now().UTC()
	var evs []catalog.Event
	for u := range users {
		c := u % clusters
		for j := range 12 {
			cl := c
			if r.Float64() < 0.1 {
				cl = r.IntN(clusters) // noise
			}
			typ := catalog.View
			if j%4 == 0 {
				typ = catalog.Purchase
			}
			evs = append(evs, catalog.Event{ClientEventID: fmt.Sprintf("%d-%d", u, j), UserID: fmt.Sprintf("u%02d", u),
				ProductID: fmt.Sprintf("c%d-p%02d", cl, r.IntN(perCluster)), Type: typ, OccurredAt: now.Add(time.Duration(j) * time.Second)})
		}
	}
	if _, err := st.InsertEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ActiveCFVersion(ctx); !errors.Is(err, records.ErrNoCFModel) {
		t.Errorf("active version before training: %v, want ErrNoCFModel", err)
	}
	if _, _, err := st.ActiveUserFactors(ctx, "u01"); !errors.Is(err, records.ErrNoCFModel) {
		t.Errorf("active user factors before training: %v, want ErrNoCFModel", err)
	}
	rep, err := training.Train(ctx, st, training.Options{Method: "als", Factors: 8, Reg: 1, Iterations: 15, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Users != users || rep.Items == 0 || rep.Interactions == 0 {
		t.Fatalf("report %+v", rep)
	}
	// Planted behaviour is collaborative: the tuned blend leans on CF and
	// beats popularity alone on the held-out items.
	t.Logf("tuned blend %v, validation NDCG@10 %.3f", rep.Blend, rep.BlendNDCG)
	if rep.Blend == nil || rep.Blend["collaborative"] == 0 || rep.BlendNDCG <= 0.1 {
		t.Errorf("blend %v (NDCG@10 %.3f): want collaborative weight and NDCG above 0.1", rep.Blend, rep.BlendNDCG)
	}
	m, err := st.ActiveCFModel(ctx)
	if err != nil || m.Version != rep.Version || len(m.Gram) != 64 {
		t.Fatalf("active model %+v %v", m, err)
	}
	inCluster, total := 0, 0
	for u := range users {
		uid := fmt.Sprintf("u%02d", u)
		f, err := st.UserFactors(ctx, m.Version, uid)
		if err != nil {
			t.Fatal(err)
		}
		top, err := st.TopItemsByFactors(ctx, m, f, 5, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range top {
			total++
			if strings.HasPrefix(x.ProductID, fmt.Sprintf("c%d-", u%clusters)) {
				inCluster++
			}
		}
	}
	share := float64(inCluster) / float64(total)
	t.Logf("share of top-5 CF items in the user's own cluster: %.2f (chance 0.33)", share)
	if share < 0.8 {
		t.Errorf("only %.2f of top items are in the user's cluster", share)
	}
	// A second training keeps both models and activates the new one.
	rep2, err := training.Train(ctx, st, training.Options{Method: "bpr", Factors: 8, Iterations: 20, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if m2, _ := st.ActiveCFModel(ctx); m2.Version != rep2.Version || m2.Method != "bpr" {
		t.Errorf("second model not active: %+v", m2)
	}
	if v, err := st.ActiveCFVersion(ctx); err != nil || v != rep2.Version {
		t.Errorf("active version %d (%v), want %d", v, err, rep2.Version)
	}
	stored, err := st.UserFactors(ctx, rep2.Version, "u01")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		user string
		want []float32
	}{{"u01", stored}, {"nobody", nil}} {
		v, f, err := st.ActiveUserFactors(ctx, tc.user)
		if err != nil || v != rep2.Version || !slices.Equal(f, tc.want) {
			t.Errorf("%s: active user factors version %d, %v (%v); want %d, %v", tc.user, v, f, err, rep2.Version, tc.want)
		}
	}
	if err := st.DeleteUser(ctx, "u00"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.UserFactors(ctx, rep2.Version, "u00"); !errors.Is(err, records.ErrNotFound) {
		t.Errorf("erased user's factors remain: %v", err)
	}
	if _, err := training.Train(ctx, st, training.Options{Method: "nope"}); err == nil {
		t.Error("unknown method accepted")
	}
	// With a budget, training searches every method on each user's latest
	// event, serves the best factor method and stores the choice.
	var tried int
	rep3, err := training.Train(ctx, st, training.Options{Budget: time.Minute, Seed: 3, Progress: func(recommend.Trial) { tried++ }})
	if err != nil {
		t.Fatal(err)
	}
	if rep3.Search == nil || len(rep3.Search.Best) != len(recommend.Methods()) || tried != len(rep3.Search.Trials) {
		t.Fatalf("search %+v after %d progress calls: want every method searched", rep3.Search, tried)
	}
	t.Logf("chosen %s (NDCG@10 %.3f), served %s %s", rep3.Search.Choice, rep3.Search.Choice.Score, rep3.Method, recommend.Describe(rep3.Method, rep3.Params))
	best, _ := rep3.Search.BestOf(rep3.Method)
	if rep3.Method != "als" && rep3.Method != "bpr" || best.Params.Factors != rep3.Params.Factors || best.Params.Reg != rep3.Params.Reg {
		t.Errorf("served %s %+v, want the searched factor method's best %+v", rep3.Method, rep3.Params, best.Params)
	}
	m3, err := st.ActiveCFModel(ctx)
	if err != nil || m3.Version != rep3.Version || m3.Params["chosen"] != rep3.Search.Choice.String() || m3.Params["searched"] == nil {
		t.Errorf("model row %+v, %v: want the choice %s and the searched settings stored", m3.Params, err, rep3.Search.Choice)
	}
}
