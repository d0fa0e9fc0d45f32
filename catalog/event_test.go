package catalog

import (
	"strings"
	"testing"
	"time"
)

func TestEventImpressionID(t *testing.T) {
	ok := Event{ClientEventID: "1", UserID: "u", ProductID: "p", Type: Click, OccurredAt: time.Now()}
	for _, id := range []string{"", "0190a5c4-7b2e-7c3d-8e4f-0123456789ab", "0190A5C4-7B2E-7C3D-8E4F-0123456789AB"} {
		e := ok
		e.ImpressionID = id
		if err := e.Validate(time.Now()); err != nil {
			t.Errorf("%q: %v", id, err)
		}
	}
	for _, id := range []string{"42", "0190a5c4-7b2e-7c3d-8e4f-0123456789a", "0190a5c4x7b2e-7c3d-8e4f-0123456789ab", "g190a5c4-7b2e-7c3d-8e4f-0123456789ab"} {
		e := ok
		e.ImpressionID = id
		err := e.Validate(time.Now())
		if err == nil || !strings.Contains(err.Error(), "impression_id") {
			t.Errorf("%q: err %v, want one naming impression_id", id, err)
		}
	}
}
