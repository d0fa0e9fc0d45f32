package api_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/training"
)

// Frequently bought together: after training on orders that pair fixed
// products, a product's together list starts with its partner, and the
// list is logged as an impression. Trending: a product bought a lot in
// the last hours and never before rises above one bought steadily all
// week.
func TestTogetherAndTrending(t *testing.T) {
	fx := newFixture(t)
	ctx := t.Context()
	rows, err := fx.db.Query(ctx, `SELECT id FROM products WHERE deleted_at IS NULL ORDER BY id LIMIT 12`)
	if err != nil {
		t.Fatal(err)
	}
	var ps []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ps = append(ps, id)
	}
	if len(ps) < 12 {
		t.Fatalf("%d products", len(ps))
	}
	now := time.Now().UTC()
	var evs []any
	for u := range 30 {
		for o := range 3 {
			at := now.Add(-time.Duration(7*24-o*48-u) * time.Hour)
			p := (u + o) % 5
			evs = append(evs, event(fmt.Sprintf("t%d-%d-a", u, o), fmt.Sprintf("tu%d", u), ps[2*p], "purchase", at),
				event(fmt.Sprintf("t%d-%d-b", u, o), fmt.Sprintf("tu%d", u), ps[2*p+1], "purchase", at.Add(time.Minute)))
		}
	}
	// ps[10] sells steadily all week; ps[11] only in the last hours.
	for n := range 28 {
		evs = append(evs, event(fmt.Sprintf("steady%d", n), fmt.Sprintf("s%d", n), ps[10], "purchase", now.Add(-time.Duration(n*6+1)*time.Hour)))
	}
	for n := range 5 {
		evs = append(evs, event(fmt.Sprintf("rise%d", n), fmt.Sprintf("r%d", n), ps[11], "purchase", now.Add(-time.Duration(n+1)*time.Hour)))
	}
	for lo := 0; lo < len(evs); lo += 200 {
		if r := fx.post("/v1/events", fx.write, map[string]any{"events": evs[lo:min(lo+200, len(evs))]}); r.status != 200 {
			t.Fatalf("events: %d %s", r.status, r.body)
		}
	}
	var tog struct {
		hitsBody
		ID           string `json:"id"`
		CFModel      int    `json:"cf_model"`
		ImpressionID string `json:"impression_id"`
	}
	if r := fx.get("/v1/products/"+ps[0]+"/together?k=3", fx.read); r.status != 200 {
		t.Fatalf("together before training: %d %s", r.status, r.body)
	} else if r.json(t, &tog); len(tog.Results) != 0 {
		t.Errorf("together before training: %v", ids(tog.hitsBody))
	}
	rep, err := training.Train(ctx, fx.st, training.Options{NoTune: true, Factors: 8, Iterations: 5})
	if err != nil {
		t.Fatal(err)
	}
	fx.get("/v1/products/"+ps[0]+"/together?k=3&user_id=tu1", fx.read).json(t, &tog)
	if tog.ID != ps[0] || tog.CFModel != rep.Version || len(tog.Results) == 0 || tog.Results[0].ID != ps[1] {
		t.Errorf("together with %s: %+v, want %s first", ps[0], tog, ps[1])
	}
	if tog.ImpressionID == "" {
		t.Error("together logged no impression")
	}
	if r := fx.get("/v1/products/no-such-product/together", fx.read); r.status != 404 {
		t.Errorf("unknown product: %d %s", r.status, r.body)
	}
	var tr struct {
		hitsBody
		ImpressionID string `json:"impression_id"`
	}
	fx.get("/v1/trending?k=5", fx.read).json(t, &tr)
	got := ids(tr.hitsBody)
	if len(got) == 0 || got[0] != ps[11] {
		t.Errorf("trending %v: want %s (rising) first", got, ps[11])
	}
	if r := fx.get("/v1/trending?k=0", fx.read); r.status != 422 {
		t.Errorf("k=0: %d", r.status)
	}
}
