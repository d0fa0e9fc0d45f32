package recommend

import (
	"fmt"
	"math"
	"time"
)

// EventLog collects events column-wise for a Dataset without holding an
// Interaction per event: each id is kept once (interned to a number), and
// an event costs 24 bytes (user and item numbers, value, time). Training
// streams the stored events into one, so memory grows with the events'
// count, not their ids' length. The zero value is ready to use.
type EventLog struct {
	userIdx, itemIdx map[string]int32
	users, items     []string
	eu, ei           []int32
	val              []float64
	at               []int64 // Unix ns; 0 when no time was given
}

// Add appends one event. Empty ids and NaN or infinite values are
// ErrInvalidInteraction.
func (l *EventLog) Add(user, item string, value float64, t time.Time) error {
	if user == "" || item == "" {
		return fmt.Errorf("interaction %d: empty user or item id: %w", len(l.eu), ErrInvalidInteraction)
	}
	if math.IsNaN(value) || math.IsInf(value, 0) {
		return fmt.Errorf("interaction %d (%s, %s): value %v: %w", len(l.eu), user, item, value, ErrInvalidInteraction)
	}
	if l.userIdx == nil {
		l.userIdx, l.itemIdx = map[string]int32{}, map[string]int32{}
	}
	u, ok := l.userIdx[user]
	if !ok {
		u = int32(len(l.users))
		l.userIdx[user] = u
		l.users = append(l.users, user)
	}
	i, ok := l.itemIdx[item]
	if !ok {
		i = int32(len(l.items))
		l.itemIdx[item] = i
		l.items = append(l.items, item)
	}
	var at int64
	if !t.IsZero() {
		at = t.UnixNano()
	}
	l.eu, l.ei, l.val, l.at = append(l.eu, u), append(l.ei, i), append(l.val, value), append(l.at, at)
	return nil
}

// Len is the number of events.
func (l *EventLog) Len() int { return len(l.eu) }

// Event is event n as an Interaction.
func (l *EventLog) Event(n int) Interaction {
	var t time.Time
	if l.at[n] != 0 {
		t = time.Unix(0, l.at[n]).UTC()
	}
	return Interaction{User: l.users[l.eu[n]], Item: l.items[l.ei[n]], Value: l.val[n], Time: t}
}

// Interactions are the events as Interactions (for callers that need
// them whole; this costs an Interaction per event).
func (l *EventLog) Interactions() []Interaction {
	out := make([]Interaction, l.Len())
	for n := range out {
		out[n] = l.Event(n)
	}
	return out
}

// Dataset builds the dataset of the events, as NewDataset does.
func (l *EventLog) Dataset() (*Dataset, error) {
	return buildDataset(l.eu, l.ei, l.val, l.at, l.users, l.items)
}
