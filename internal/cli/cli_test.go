package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/vitrinehq/vitrine/fusion"
	"github.com/vitrinehq/vitrine/internal/config"
	"github.com/vitrinehq/vitrine/records"
)

func TestKeys(t *testing.T) {
	created := time.Date(2025, 6, 1, 9, 30, 0, 0, time.UTC)
	used := created.Add(time.Hour)
	var b strings.Builder
	err := Keys(&b, []records.APIKey{
		{ID: "k1", Name: "shop", Scopes: []records.Scope{records.ScopeRead}, CreatedAt: created, LastUsedAt: &used},
		{ID: "k2", Name: "ops", Scopes: []records.Scope{records.ScopeAdmin, records.ScopeWrite}, CreatedAt: created, RevokedAt: &used},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "ID  NAME  SCOPES         CREATED           LAST USED         REVOKED\n" +
		"k1  shop  [read]         2025-06-01 09:30  2025-06-01 10:30  -\n" +
		"k2  ops   [admin write]  2025-06-01 09:30  -                 2025-06-01 10:30\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestParseScopes(t *testing.T) {
	tests := []struct{ in, want string }{
		{"read", "[read]"},
		{" read, write ,,admin", "[read write admin]"},
		{"", "[]"},
	}
	for _, tt := range tests {
		got := ParseScopes(tt.in)
		if fmtScopes(got) != tt.want {
			t.Errorf("ParseScopes(%q) = %v, want %s", tt.in, got, tt.want)
		}
	}
}

func fmtScopes(ss []records.Scope) string {
	var parts []string
	for _, s := range ss {
		parts = append(parts, string(s))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func TestSpaces(t *testing.T) {
	spec, _ := json.Marshal(map[string]any{"strategy": "weighted_concat", "components": []map[string]any{{"model": "t@1", "weight": 0.7, "dim": 2}}})
	created := time.Date(2025, 6, 1, 9, 30, 0, 0, time.UTC)
	var b strings.Builder
	err := Spaces(&b, []records.Space{
		{Version: 2, State: "active", Dim: 2, Storage: "vector", Vectors: 10, CreatedAt: created, Spec: spec},
		{Version: 3, State: "building", Dim: 2, Storage: "halfvec", CreatedAt: created, Spec: []byte(`not json`)},
		{Version: 4, State: "ready", Dim: 1, Storage: "vector", CreatedAt: created, Spec: fusion.Spec{Strategy: fusion.WeightedConcat,
			Components: []fusion.Component{{Model: "t@1", Modality: "text", Dim: 2, Weight: 0.7}}}.Reduced(1).JSON()},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"VERSION  STATE", "2        active    2    vector   10       2025-06-01 09:30  weighted_concat t@1=0.70\n", "  not json\n", "weighted_concat t@1=0.70 pca to 1\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("spaces lacks %q:\n%s", want, b.String())
		}
	}
}

func TestLogger(t *testing.T) {
	tests := []struct {
		c             config.Log
		json, debugOn bool
	}{
		{config.Log{Level: "debug", Format: "json"}, true, true},
		{config.Log{Level: "info", Format: "text"}, false, false},
		{config.Log{Level: "nonsense"}, false, false},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		l := Logger(&b, tt.c)
		l.Debug("d")
		l.Info("i")
		if got := strings.HasPrefix(b.String(), "{"); got != tt.json {
			t.Errorf("%+v: JSON %v, want %v:\n%s", tt.c, got, tt.json, b.String())
		}
		if got := strings.Count(b.String(), "\n") == 2; got != tt.debugOn {
			t.Errorf("%+v: debug logged %v, want %v:\n%s", tt.c, got, tt.debugOn, b.String())
		}
	}
}

func TestFusionFlags(t *testing.T) {
	tests := []struct {
		args []string
		want config.Fusion
	}{
		{nil, config.Fusion{Strategy: "weighted_concat", TextWeight: 1, ImageWeight: 0.5, Reduce: 32}},
		{[]string{"--strategy", "weighted_mean", "--image-weight", "0", "--audio-weight", "0.25"},
			config.Fusion{Strategy: "weighted_mean", TextWeight: 1, AudioWeight: 0.25, Reduce: 32}},
		{[]string{"--reduce", "64"}, config.Fusion{Strategy: "weighted_concat", TextWeight: 1, ImageWeight: 0.5, Reduce: 64}},
		{[]string{"--reduce", "0"}, config.Fusion{Strategy: "weighted_concat", TextWeight: 1, ImageWeight: 0.5}},
	}
	for _, tt := range tests {
		var f FusionFlags
		cmd := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error { return nil }}
		f.Register(cmd)
		cmd.SetArgs(tt.args)
		if err := cmd.Execute(); err != nil {
			t.Fatal(err)
		}
		got := config.Fusion{Strategy: "weighted_concat", TextWeight: 1, ImageWeight: 0.5, Reduce: 32}
		f.Apply(&got)
		if got != tt.want {
			t.Errorf("%v: got %+v, want %+v", tt.args, got, tt.want)
		}
	}
}
