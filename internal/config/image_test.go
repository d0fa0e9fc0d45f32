package config_test

import (
	"testing"

	"github.com/vitrinehq/vitrine/internal/config"
)

// TestImageExtractsKeypoints: ingest extracts catalog keypoints exactly
// while verification is on, which it is by default.
func TestImageExtractsKeypoints(t *testing.T) {
	for _, tc := range []struct {
		verifyTop int
		want      bool
	}{{config.Default().Image.VerifyTop, true}, {0, false}, {1, true}} {
		if got := (config.Image{VerifyTop: tc.verifyTop}).ExtractsKeypoints(); got != tc.want {
			t.Errorf("verify_top %d: ExtractsKeypoints %v, want %v", tc.verifyTop, got, tc.want)
		}
	}
}
