package config_test

import (
	"errors"
	"testing"

	"github.com/vitrinehq/vitrine/internal/config"
)

func TestIngestConcurrency(t *testing.T) {
	for _, c := range []struct {
		name    string
		env     []string
		want    int
		wantErr bool
	}{
		{"default: three batches in flight", nil, 3, false},
		{"one after another", []string{"VITRINE_INGEST_CONCURRENCY=1"}, 1, false},
		{"two", []string{"VITRINE_INGEST_CONCURRENCY=2"}, 2, false},
		{"zero", []string{"VITRINE_INGEST_CONCURRENCY=0"}, 0, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := config.Load("", func() []string { return c.env })
			if c.wantErr {
				if !errors.Is(err, config.ErrInvalid) {
					t.Errorf("err = %v, want ErrInvalid", err)
				}
				return
			}
			if err != nil || cfg.Ingest.Concurrency != c.want {
				t.Errorf("ingest.concurrency = %d (%v), want %d", cfg.Ingest.Concurrency, err, c.want)
			}
		})
	}
}

func TestIngestDeferIndexesBelow(t *testing.T) {
	for _, c := range []struct {
		name    string
		env     []string
		want    int64
		wantErr bool
	}{
		{"default: catalogs under 10,000 products", nil, 10_000, false},
		{"off", []string{"VITRINE_INGEST_DEFER_INDEXES_BELOW=0"}, 0, false},
		{"larger", []string{"VITRINE_INGEST_DEFER_INDEXES_BELOW=250000"}, 250_000, false},
		{"negative", []string{"VITRINE_INGEST_DEFER_INDEXES_BELOW=-1"}, 0, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := config.Load("", func() []string { return c.env })
			if c.wantErr {
				if !errors.Is(err, config.ErrInvalid) {
					t.Errorf("err = %v, want ErrInvalid", err)
				}
				return
			}
			if err != nil || cfg.Ingest.DeferIndexesBelow != c.want {
				t.Errorf("ingest.defer_indexes_below = %d (%v), want %d", cfg.Ingest.DeferIndexesBelow, err, c.want)
			}
		})
	}
}
