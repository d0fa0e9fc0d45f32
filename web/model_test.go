package web_test

import (
	"strings"
	"testing"

	"github.com/vitrinehq/vitrine/api"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/web"
)

// The admin overview shows the active model: what the search chose, with
// its validation score, and what the API serves (null before training).
func TestAdminOverviewModel(t *testing.T) {
	e := newEnv(t)
	ts := e.serve(t, func(c *api.Config) { c.Auth = api.AuthRequired })
	_, admin, err := e.st.CreateAPIKey(t.Context(), "admin", []records.Scope{records.ScopeAdmin})
	if err != nil {
		t.Fatal(err)
	}
	var o web.Overview
	get(t, ts.URL+"/v1/admin/overview", admin).json(t, &o)
	if o.Model != nil {
		t.Fatalf("model before training: %+v", o.Model)
	}
	params := map[string]any{"chosen": "blend(als 0.5, transitions 1)", "chosen_ndcg": 0.25,
		"serve":    []map[string]any{{"method": "transitions", "weight": 1, "settings": "neighbours=100 recency=1 window=1"}},
		"searched": map[string]any{"als": map[string]any{"settings": "factors=64", "ndcg": 0.2}}}
	v, err := e.st.SaveCFModel(t.Context(), records.CFModel{Method: "als", Dim: 2, Gram: []float64{1, 0, 0, 1}, Params: params}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	get(t, ts.URL+"/v1/admin/overview", admin).json(t, &o)
	m := o.Model
	if m == nil || m.Version != v || m.Method != "als" || m.Chosen != "blend(als 0.5, transitions 1)" || m.ChosenNDCG != 0.25 {
		t.Fatalf("model: %+v", m)
	}
	if !strings.Contains(string(m.Serve), `"transitions"`) || !strings.Contains(string(m.Searched), `"factors=64"`) {
		t.Errorf("served %s, searched %s", m.Serve, m.Searched)
	}
}
