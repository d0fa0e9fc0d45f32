package training

import (
	"fmt"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/recommend"
)

// The search reads a sample of about the asked number of users, each with
// all their events; a small shop is read whole.
func TestSampleUsers(t *testing.T) {
	var log recommend.EventLog
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for u := range 2000 {
		for k := range 3 {
			if err := log.Add(fmt.Sprintf("user%d", u), fmt.Sprintf("item%d", (u+k)%50), 1, t0.Add(time.Duration(k)*time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if all := sampleUsers(&log, 2000, 5000); len(all) != log.Len() {
		t.Fatalf("small shop: %d of %d events", len(all), log.Len())
	}
	got := sampleUsers(&log, 2000, 200)
	per := map[string]int{}
	for _, e := range got {
		per[e.User]++
	}
	if len(per) < 120 || len(per) > 280 {
		t.Errorf("sampled %d users, want about 200", len(per))
	}
	for u, n := range per {
		if n != 3 {
			t.Errorf("%s: %d of its 3 events", u, n)
		}
	}
}
