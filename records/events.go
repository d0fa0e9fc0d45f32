package records

import "time"

// EventStatus is what happened to one submitted event.
type EventStatus int

// Event outcomes: a duplicate (same user and client event id) is accepted
// and ignored, so clients can retry safely.
const (
	EventInserted EventStatus = iota + 1
	EventDuplicate
	EventFailed
)

// EventResult is the outcome of one event of a batch.
type EventResult struct {
	Status EventStatus
	Err    error
}

// UserVector is a user's taste in one space, updated online from events.
type UserVector struct {
	UserID    string
	Space     int
	Vector    []float32
	Weight    float64
	UpdatedAt time.Time
}
