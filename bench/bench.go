// Package bench holds what Vitrine's benchmark engines share: the record
// of what loading a bench database cost (kept in the database's own
// comment, so a rerun on a reused database still reports it) and the
// number formatting of their reports. The engines live in its
// subpackages: load (concurrent latency and QPS), apiload (the API beside
// its bare database queries), hnsw (recall and latency against ef_search)
// and throughput (encoder and ingestion items/s beside their baselines).
// `vitrine bench` wires them to the configured store and models.
package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
)

// Build is what loading a bench database cost.
type Build struct {
	LoadSeconds  float64 `json:"load_seconds"`
	IndexSeconds float64 `json:"index_seconds"`
}

// Commenter keeps a text with the database itself.
type Commenter interface {
	SetDatabaseComment(ctx context.Context, text string) error
	DatabaseComment(ctx context.Context) (string, error)
}

// RecordBuild keeps b in the database's comment.
func RecordBuild(ctx context.Context, db Commenter, b Build) error {
	js, err := json.Marshal(b)
	if err != nil {
		return fmt.Errorf("record build: %w", err)
	}
	return db.SetDatabaseComment(ctx, string(js))
}

// RecalledBuild reads what RecordBuild kept; false when nothing was.
func RecalledBuild(ctx context.Context, db Commenter) (Build, bool) {
	var b Build
	s, err := db.DatabaseComment(ctx)
	return b, err == nil && json.Unmarshal([]byte(s), &b) == nil
}

// Ratio is a/b, 0 when b is 0.
func Ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// Rate prints items/s with sensible precision.
func Rate(v float64) string {
	if v >= 100 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// MiB is n bytes in mebibytes.
func MiB(n int64) float64 { return float64(n) / (1 << 20) }
