package recommend_test

import (
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/recommend"
)

// Events streamed into an EventLog give the dataset NewDataset gives on
// the same events (rows, values, sequences, latest time), read back
// unchanged, and bad events are refused as NewDataset refuses them.
func TestEventLogBuildsTheSameDataset(t *testing.T) {
	train, _ := plantSequences(200, 0.2, 3)
	train = append(train, recommend.Interaction{User: "user0000", Item: "c00-00", Value: -1}) // no time, negative
	want, err := recommend.NewDataset(train)
	if err != nil {
		t.Fatal(err)
	}
	var l recommend.EventLog
	for _, e := range train {
		if err := l.Add(e.User, e.Item, e.Value, e.Time); err != nil {
			t.Fatal(err)
		}
	}
	if l.Len() != len(train) || l.Event(7) != train[7] || !slices.Equal(l.Interactions(), train) {
		t.Fatalf("log holds %d events, event 7 %+v, want %d, %+v", l.Len(), l.Event(7), len(train), train[7])
	}
	got, err := l.Dataset()
	if err != nil {
		t.Fatal(err)
	}
	if got.NumUsers() != want.NumUsers() || got.NumItems() != want.NumItems() || got.NNZ() != want.NNZ() || !got.Latest().Equal(want.Latest()) {
		t.Fatalf("dataset %d×%d (%d), want %d×%d (%d)", got.NumUsers(), got.NumItems(), got.NNZ(), want.NumUsers(), want.NumItems(), want.NNZ())
	}
	for u := range want.NumUsers() {
		gi, gv := got.UserItems(u)
		wi, wv := want.UserItems(u)
		gs, gt := got.UserSequence(u)
		ws, wt := want.UserSequence(u)
		if got.UserID(u) != want.UserID(u) || !slices.Equal(gi, wi) || !slices.Equal(gv, wv) || !slices.Equal(gs, ws) || !slices.Equal(gt, wt) {
			t.Fatalf("user %d differs", u)
		}
	}
	for _, bad := range []recommend.Interaction{{User: "", Item: "a", Value: 1}, {User: "u", Item: "a", Value: math.NaN()}} {
		if err := l.Add(bad.User, bad.Item, bad.Value, time.Time{}); !errors.Is(err, recommend.ErrInvalidInteraction) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}
