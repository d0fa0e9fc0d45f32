package records

import "time"

// ProductChange is one row of the products change log: a product was
// written (Deleted false: inserted, updated or restored) or deleted (hard
// or soft) in the transaction that took sequence number Seq.
type ProductChange struct {
	Seq       int64
	ProductID string
	Deleted   bool
	At        time.Time
}
