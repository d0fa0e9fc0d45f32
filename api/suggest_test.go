package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestSuggestFromIndex checks GET /v1/suggest served from the lexical
// index's term dictionary, as `vitrine serve` does: the word being typed
// is completed, and a misspelt one corrected, as the catalog writes it.
func TestSuggestFromIndex(t *testing.T) {
	ts, key := indexServer(t)
	for prefix, want := range map[string]string{
		"banan": "banana", "yoghrt": "yoghurt", "avacado": "avocado", "pomegranite": "pomegranate",
		"mellanmj": "mellanmjölk", "aub": "aubergine", "ecological ban": "ecological banana",
	} {
		req, err := http.NewRequestWithContext(t.Context(), "GET", ts.URL+"/v1/suggest?q="+url.QueryEscape(prefix), nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Suggestions []struct{ Text, Kind string } }
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%q: %d %v", prefix, resp.StatusCode, err)
		}
		if len(body.Suggestions) == 0 || strings.ToLower(body.Suggestions[0].Text) != want {
			t.Errorf("suggest %q: %+v, want %q first", prefix, body.Suggestions, want)
		}
	}
}
