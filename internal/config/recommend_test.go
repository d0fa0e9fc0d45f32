package config_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/internal/config"
)

// recommend.cache_ttl defaults to 30 s, 0 turns the retrieval cache off,
// and a negative TTL is refused naming its variable.
func TestRecommendCacheTTL(t *testing.T) {
	for _, tc := range []struct {
		env     []string
		want    time.Duration
		invalid bool
	}{
		{nil, 30 * time.Second, false},
		{[]string{"VITRINE_RECOMMEND_CACHE_TTL=0s"}, 0, false},
		{[]string{"VITRINE_RECOMMEND_CACHE_TTL=2m"}, 2 * time.Minute, false},
		{[]string{"VITRINE_RECOMMEND_CACHE_TTL=-1s"}, 0, true},
	} {
		c, err := config.Load("", func() []string { return tc.env })
		if tc.invalid {
			if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), "VITRINE_RECOMMEND_CACHE_TTL") {
				t.Errorf("%v: err %v, want ErrInvalid naming VITRINE_RECOMMEND_CACHE_TTL", tc.env, err)
			}
			continue
		}
		if err != nil || c.Recommend.CacheTTL != tc.want {
			t.Errorf("%v: %s, %v; want %s", tc.env, c.Recommend.CacheTTL, err, tc.want)
		}
	}
}

// recommend.refresh_workers defaults to 2, 0 turns background refreshes
// off, and a negative count is refused naming its variable.
func TestRecommendRefreshWorkers(t *testing.T) {
	for _, tc := range []struct {
		env     []string
		want    int
		invalid bool
	}{
		{nil, 2, false},
		{[]string{"VITRINE_RECOMMEND_REFRESH_WORKERS=0"}, 0, false},
		{[]string{"VITRINE_RECOMMEND_REFRESH_WORKERS=4"}, 4, false},
		{[]string{"VITRINE_RECOMMEND_REFRESH_WORKERS=-1"}, 0, true},
	} {
		c, err := config.Load("", func() []string { return tc.env })
		if tc.invalid {
			if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), "VITRINE_RECOMMEND_REFRESH_WORKERS") {
				t.Errorf("%v: err %v, want ErrInvalid naming VITRINE_RECOMMEND_REFRESH_WORKERS", tc.env, err)
			}
			continue
		}
		if err != nil || c.Recommend.RefreshWorkers != tc.want {
			t.Errorf("%v: %d, %v; want %d", tc.env, c.Recommend.RefreshWorkers, err, tc.want)
		}
	}
}

// recommend.content_seeds defaults to 5 and recommend.content_lists_ttl
// to an hour; 0 seeds always search the index, and a negative count or a
// TTL of 0 or less is refused naming its variable.
func TestRecommendContentLists(t *testing.T) {
	for _, tc := range []struct {
		env     []string
		seeds   int
		ttl     time.Duration
		invalid string // the variable an invalid setting names
	}{
		{nil, 5, time.Hour, ""},
		{[]string{"VITRINE_RECOMMEND_CONTENT_SEEDS=0"}, 0, time.Hour, ""},
		{[]string{"VITRINE_RECOMMEND_CONTENT_SEEDS=8", "VITRINE_RECOMMEND_CONTENT_LISTS_TTL=10m"}, 8, 10 * time.Minute, ""},
		{[]string{"VITRINE_RECOMMEND_CONTENT_SEEDS=-1"}, 0, 0, "VITRINE_RECOMMEND_CONTENT_SEEDS"},
		{[]string{"VITRINE_RECOMMEND_CONTENT_LISTS_TTL=0s"}, 0, 0, "VITRINE_RECOMMEND_CONTENT_LISTS_TTL"},
	} {
		c, err := config.Load("", func() []string { return tc.env })
		if tc.invalid != "" {
			if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), tc.invalid) {
				t.Errorf("%v: err %v, want ErrInvalid naming %s", tc.env, err, tc.invalid)
			}
			continue
		}
		if err != nil || c.Recommend.ContentSeeds != tc.seeds || c.Recommend.ContentListsTTL != tc.ttl {
			t.Errorf("%v: %d, %s, %v; want %d, %s", tc.env, c.Recommend.ContentSeeds, c.Recommend.ContentListsTTL, err, tc.seeds, tc.ttl)
		}
	}
}

// recommend.refresh_on_activate defaults to 1,000 users, 0 turns the
// refreshes after an activation off, and a negative count is refused
// naming its variable.
func TestRecommendRefreshOnActivate(t *testing.T) {
	for _, tc := range []struct {
		env     []string
		want    int
		invalid bool
	}{
		{nil, 1000, false},
		{[]string{"VITRINE_RECOMMEND_REFRESH_ON_ACTIVATE=0"}, 0, false},
		{[]string{"VITRINE_RECOMMEND_REFRESH_ON_ACTIVATE=50"}, 50, false},
		{[]string{"VITRINE_RECOMMEND_REFRESH_ON_ACTIVATE=-1"}, 0, true},
	} {
		c, err := config.Load("", func() []string { return tc.env })
		if tc.invalid {
			if !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), "VITRINE_RECOMMEND_REFRESH_ON_ACTIVATE") {
				t.Errorf("%v: err %v, want ErrInvalid naming VITRINE_RECOMMEND_REFRESH_ON_ACTIVATE", tc.env, err)
			}
			continue
		}
		if err != nil || c.Recommend.RefreshOnActivate != tc.want {
			t.Errorf("%v: %d, %v; want %d", tc.env, c.Recommend.RefreshOnActivate, err, tc.want)
		}
	}
}
