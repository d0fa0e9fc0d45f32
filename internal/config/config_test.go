package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/internal/config"
)

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "v.yaml")
	if err := os.WriteFile(file, []byte("database:\n  port: 6000\nort:\n  max_wait: 20ms\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		file    string
		env     []string
		check   func(config.Config) bool
		wantErr string
	}{
		{name: "defaults", check: func(c config.Config) bool {
			return c.Database.Port == 54329 && c.ORT.Provider == "cpu" && c.Home == ".vitrine"
		}},
		{name: "file", file: file, check: func(c config.Config) bool {
			return c.Database.Port == 6000 && c.ORT.MaxWait == 20*time.Millisecond
		}},
		{name: "env beats file", file: file, env: []string{"VITRINE_DATABASE_PORT=7000", "VITRINE_DATABASE_URL=postgres://x", "VITRINE_ORT_INTRA_OP_THREADS=2", "VITRINE_ASSETS=/m"},
			check: func(c config.Config) bool {
				return c.Database.Port == 7000 && c.Database.URL == "postgres://x" && c.ORT.IntraOpThreads == 2 && c.Assets == "/m"
			}},
		{name: "unrelated VITRINE_ variables ignored", env: []string{"VITRINE_TEST_DATABASE_URL=x"}, check: func(c config.Config) bool { return true }},
		{name: "bad provider", env: []string{"VITRINE_ORT_PROVIDER=tpu"}, wantErr: "VITRINE_ORT_PROVIDER"},
		{name: "bad port", env: []string{"VITRINE_DATABASE_PORT=0"}, wantErr: "database.port"},
		{name: "bad type", env: []string{"VITRINE_DATABASE_PORT=abc"}, wantErr: "port"},
		{name: "fusion kept full by default", check: func(c config.Config) bool { return c.Fusion.Reduce == 0 }},
		{name: "fusion reduced from env", env: []string{"VITRINE_FUSION_REDUCE=64"}, check: func(c config.Config) bool { return c.Fusion.Reduce == 64 }},
		{name: "negative fusion reduction", env: []string{"VITRINE_FUSION_REDUCE=-1"}, wantErr: "fusion.reduce"},
		{name: "HNSW graph defaults", check: func(c config.Config) bool {
			return c.Database.HNSWM == 16 && c.Database.HNSWEfConstruction == 64
		}},
		{name: "HNSW graph from env", env: []string{"VITRINE_DATABASE_HNSW_M=12", "VITRINE_DATABASE_HNSW_EF_CONSTRUCTION=48"}, check: func(c config.Config) bool {
			return c.Database.HNSWM == 12 && c.Database.HNSWEfConstruction == 48
		}},
		{name: "bad HNSW m", env: []string{"VITRINE_DATABASE_HNSW_M=1"}, wantErr: "database.hnsw_m"},
		{name: "HNSW ef_construction below 2m", env: []string{"VITRINE_DATABASE_HNSW_M=40"}, wantErr: "database.hnsw_ef_construction"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := config.Load(tc.file, func() []string { return tc.env })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(c) {
				t.Errorf("unexpected config %+v", c)
			}
		})
	}
	_, err := config.Load(filepath.Join(dir, "missing.yaml"), func() []string { return nil })
	if err == nil {
		t.Error("missing config file accepted")
	}
	_, err = config.Load("", func() []string { return []string{"VITRINE_ORT_PROVIDER=tpu"} })
	if !errors.Is(err, config.ErrInvalid) {
		t.Errorf("err %v, want ErrInvalid", err)
	}
}

func TestYAMLMasksPassword(t *testing.T) {
	c := config.Default()
	c.Database.URL = "postgres://u:secret@h/db"
	b, err := c.YAML()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "secret") {
		t.Errorf("password printed:\n%s", b)
	}
	if !strings.Contains(string(b), "postgres://u:") {
		t.Errorf("url missing:\n%s", b)
	}
}

func TestEveryKeyHasEnv(t *testing.T) {
	for _, kv := range config.Keys() {
		if !strings.HasPrefix(kv[1], "VITRINE_") || strings.Contains(kv[1], ".") {
			t.Errorf("key %s maps to %s", kv[0], kv[1])
		}
	}
}

func TestExperimentAndImpressions(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "v.yaml")
	yml := "experiment:\n  name: blend-2025\n  variants: control:90,treatment:10\n  overrides: treatment.cf_weight=0.5,treatment.mmr_lambda=0.8\nimpressions:\n  retention: 720h\n"
	if err := os.WriteFile(file, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(file, func() []string { return nil })
	if err != nil {
		t.Fatal(err)
	}
	e, err := c.ParseExperiment()
	if err != nil || e == nil || e.Name != "blend-2025" || len(e.Variants) != 2 || e.Variants[1].Weight != 10 {
		t.Fatalf("experiment from YAML: %+v %v", e, err)
	}
	if v, _ := e.Variants[1].Override("mmr_lambda"); v != 0.8 {
		t.Errorf("treatment mmr_lambda %v", v)
	}
	if !c.Impressions.Enabled || c.Impressions.Retention != 720*time.Hour || c.Impressions.FlushEvery != time.Second {
		t.Errorf("impressions %+v", c.Impressions)
	}
	// Environment variables set the same, and beat the file.
	c, err = config.Load(file, func() []string {
		return []string{"VITRINE_EXPERIMENT_VARIANTS=control:50,treatment:50", "VITRINE_EXPERIMENT_OVERRIDES=treatment.vector_weight=3",
			"VITRINE_IMPRESSIONS_ENABLED=false", "VITRINE_IMPRESSIONS_FLUSH_EVERY=250ms"}
	})
	if err != nil {
		t.Fatal(err)
	}
	e, _ = c.ParseExperiment()
	if e.Variants[1].Weight != 50 || c.Impressions.Enabled || c.Impressions.FlushEvery != 250*time.Millisecond {
		t.Errorf("env: %+v %+v", e, c.Impressions)
	}
	if v, ok := e.Variants[1].Override("vector_weight"); !ok || v != 3 {
		t.Errorf("env override %v %v", v, ok)
	}
	// No experiment by default.
	c, _ = config.Load("", func() []string { return nil })
	if e, err := c.ParseExperiment(); e != nil || err != nil {
		t.Errorf("default experiment %+v %v", e, err)
	}
	for _, tc := range []struct {
		env  []string
		want string
	}{
		{[]string{"VITRINE_EXPERIMENT_NAME=x"}, "VITRINE_EXPERIMENT_VARIANTS"},
		{[]string{"VITRINE_EXPERIMENT_NAME=x", "VITRINE_EXPERIMENT_VARIANTS=control:1,t:1", "VITRINE_EXPERIMENT_OVERRIDES=t.speed=2"}, `unknown parameter "speed"`},
		{[]string{"VITRINE_IMPRESSIONS_BUFFER=0"}, "VITRINE_IMPRESSIONS_BUFFER"},
		{[]string{"VITRINE_IMPRESSIONS_FLUSH_EVERY=0s"}, "impressions.flush_every"},
	} {
		_, err := config.Load("", func() []string { return tc.env })
		if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err %v, want one naming %s", tc.env, err, tc.want)
		}
	}
}

// The hostile-load settings: proxies and the fetch allow-list parse as
// addresses or prefixes, the upload slots and queue are bounded below.
func TestServerGuards(t *testing.T) {
	c, err := config.Load("", func() []string { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.MaxUploads != 0 || c.Server.UploadQueue != 2*time.Second || c.Server.TrustedProxies != "" || c.Server.FetchAllow != "" {
		t.Errorf("defaults %+v", c.Server)
	}
	c, err = config.Load("", func() []string {
		return []string{"VITRINE_SERVER_TRUSTED_PROXIES=10.0.0.1, 192.168.0.0/16", "VITRINE_SERVER_FETCH_ALLOW=10.1.0.0/16",
			"VITRINE_SERVER_MAX_UPLOADS=3", "VITRINE_SERVER_UPLOAD_QUEUE=500ms"}
	})
	if err != nil {
		t.Fatal(err)
	}
	proxies, err := c.Server.TrustedProxyPrefixes()
	if err != nil || len(proxies) != 2 || proxies[0].String() != "10.0.0.1/32" || proxies[1].String() != "192.168.0.0/16" {
		t.Errorf("trusted proxies %v %v", proxies, err)
	}
	allow, err := c.Server.FetchAllowPrefixes()
	if err != nil || len(allow) != 1 || allow[0].String() != "10.1.0.0/16" {
		t.Errorf("fetch allow %v %v", allow, err)
	}
	if c.Server.MaxUploads != 3 || c.Server.UploadQueue != 500*time.Millisecond {
		t.Errorf("uploads %d %v", c.Server.MaxUploads, c.Server.UploadQueue)
	}
	for _, tc := range []struct{ env, want string }{
		{"VITRINE_SERVER_TRUSTED_PROXIES=proxy.local", "VITRINE_SERVER_TRUSTED_PROXIES"},
		{"VITRINE_SERVER_FETCH_ALLOW=10.1.0.0/99", "VITRINE_SERVER_FETCH_ALLOW"},
		{"VITRINE_SERVER_MAX_UPLOADS=-1", "VITRINE_SERVER_MAX_UPLOADS"},
		{"VITRINE_SERVER_UPLOAD_QUEUE=-1s", "VITRINE_SERVER_UPLOAD_QUEUE"},
	} {
		_, err := config.Load("", func() []string { return []string{tc.env} })
		if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want ErrInvalid naming %s", tc.env, err, tc.want)
		}
	}
}

func TestVoice(t *testing.T) {
	c, err := config.Load("", func() []string { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if want := (config.Voice{Enabled: true, CatalogWeight: 0.9, CatalogKeep: 0.5, Alternatives: 4, Denoise: true, Decoders: 2, MaxSeconds: 15, Poll: 10 * time.Second}); c.Voice != want {
		t.Errorf("defaults %+v, want %+v", c.Voice, want)
	}
	c, err = config.Load("", func() []string {
		return []string{"VITRINE_VOICE_ENABLED=false", "VITRINE_VOICE_CATALOG_WEIGHT=0.7", "VITRINE_VOICE_CATALOG_KEEP=0.5", "VITRINE_VOICE_ALTERNATIVES=2", "VITRINE_VOICE_DENOISE=false",
			"VITRINE_VOICE_DECODERS=4", "VITRINE_VOICE_MAX_SECONDS=8", "VITRINE_VOICE_POLL=1m"}
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := (config.Voice{CatalogWeight: 0.7, CatalogKeep: 0.5, Alternatives: 2, Decoders: 4, MaxSeconds: 8, Poll: time.Minute}); c.Voice != want {
		t.Errorf("from the environment %+v, want %+v", c.Voice, want)
	}
	for _, tc := range []struct{ env, want string }{
		{"VITRINE_VOICE_CATALOG_WEIGHT=1", "VITRINE_VOICE_CATALOG_WEIGHT"},
		{"VITRINE_VOICE_CATALOG_KEEP=0", "VITRINE_VOICE_CATALOG_KEEP"},
		{"VITRINE_VOICE_CATALOG_KEEP=1.5", "VITRINE_VOICE_CATALOG_KEEP"},
		{"VITRINE_VOICE_ALTERNATIVES=0", "VITRINE_VOICE_ALTERNATIVES"},
		{"VITRINE_VOICE_DECODERS=0", "VITRINE_VOICE_DECODERS"},
		{"VITRINE_VOICE_MAX_SECONDS=0", "VITRINE_VOICE_MAX_SECONDS"},
		{"VITRINE_VOICE_POLL=0s", "VITRINE_VOICE_POLL"},
	} {
		_, err := config.Load("", func() []string { return []string{tc.env} })
		if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want ErrInvalid naming %s", tc.env, err, tc.want)
		}
	}
}

func TestSearchVectorLeg(t *testing.T) {
	c, err := config.Load("", func() []string {
		return []string{"VITRINE_SEARCH_VECTOR_POOL=50", "VITRINE_SEARCH_VECTOR_EF=0", "VITRINE_SEARCH_LEXICAL_POOL=40"}
	})
	if err != nil || c.Search.VectorPool != 50 || c.Search.VectorEf != 0 || c.Search.LexicalPool != 40 {
		t.Fatalf("vector pool %d ef %d, lexical pool %d, %v", c.Search.VectorPool, c.Search.VectorEf, c.Search.LexicalPool, err)
	}
	for _, tc := range []struct{ env, want string }{
		{"VITRINE_SEARCH_VECTOR_POOL=0", "VITRINE_SEARCH_VECTOR_POOL"},
		{"VITRINE_SEARCH_VECTOR_POOL=1001", "VITRINE_SEARCH_VECTOR_POOL"},
		{"VITRINE_SEARCH_VECTOR_EF=-1", "VITRINE_SEARCH_VECTOR_EF"},
		{"VITRINE_SEARCH_LEXICAL_POOL=0", "VITRINE_SEARCH_LEXICAL_POOL"},
	} {
		_, err := config.Load("", func() []string { return []string{tc.env} })
		if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want ErrInvalid naming %s", tc.env, err, tc.want)
		}
	}
}

// TestImageLevers: search by photo's vote and crop levers load from the
// environment and are refused out of range.
func TestImageLevers(t *testing.T) {
	c, err := config.Load("", func() []string { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if c.Image.VoteViews != 10 || c.Image.VotePower != 16 || c.Image.CropScale != 0 {
		t.Errorf("defaults: vote %d^%v, crop scale %v", c.Image.VoteViews, c.Image.VotePower, c.Image.CropScale)
	}
	c, err = config.Load("", func() []string {
		return []string{"VITRINE_IMAGE_VOTE_VIEWS=0", "VITRINE_IMAGE_CROP_SCALE=0.6", "VITRINE_IMAGE_VOTE_POWER=2"}
	})
	if err != nil || c.Image.VoteViews != 0 || c.Image.CropScale != 0.6 || c.Image.VotePower != 2 {
		t.Errorf("from the environment: %+v %v", c.Image, err)
	}
	for _, env := range []string{"VITRINE_IMAGE_VOTE_VIEWS=-1", "VITRINE_IMAGE_VOTE_POWER=-2", "VITRINE_IMAGE_CROP_SCALE=1.5"} {
		if _, err := config.Load("", func() []string { return []string{env} }); !errors.Is(err, config.ErrInvalid) {
			t.Errorf("%s: err %v, want ErrInvalid", env, err)
		}
	}
}
