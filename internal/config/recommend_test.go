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
