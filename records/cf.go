package records

import (
	"errors"
	"time"
)

// ErrNoCFModel means no collaborative-filtering model has been trained.
var ErrNoCFModel = errors.New("no trained collaborative-filtering model")

// TrainingEvent is one event as training reads it.
type TrainingEvent struct {
	UserID, ProductID, Type string
	Value                   *float64
	At                      time.Time
}

// CFModel describes a trained model.
type CFModel struct {
	Version      int
	Method       string
	Params       map[string]any
	Dim          int
	Gram         []float64
	Interactions int64
	Users, Items int
	TrainSeconds float64
	TrainedAt    time.Time
	Active       bool
}
