package records

// UpsertStatus says what an upsert did to one product.
type UpsertStatus int

// Upsert outcomes. Unchanged means the stored content hash matched, so
// nothing was written and nothing needs re-encoding.
const (
	Inserted UpsertStatus = iota + 1
	Updated
	Unchanged
	Failed
)

func (s UpsertStatus) String() string {
	switch s {
	case Inserted:
		return "inserted"
	case Updated:
		return "updated"
	case Unchanged:
		return "unchanged"
	case Failed:
		return "failed"
	}
	return "unknown"
}

// UpsertResult is the outcome for one product of a batch.
type UpsertResult struct {
	ID     string
	Status UpsertStatus
	Err    error // set when Status is Failed
}
