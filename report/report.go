// Package report writes what the eval and bench commands measured: JSON
// and Markdown files, and PNG plots (recall/NDCG curves, latency
// distributions) drawn with gonum/plot. It holds presentation only; the
// measuring lives in the eval and bench packages.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// Write writes rep as indented JSON to jsonPath and as Markdown (through
// md) to mdPath; an empty path skips that file.
func Write[R any](jsonPath, mdPath string, rep R, md func(io.Writer, R) error) error {
	if jsonPath != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return fmt.Errorf("report %s: %w", jsonPath, err)
		}
		if err := os.WriteFile(jsonPath, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("report: %w", err)
		}
	}
	if mdPath == "" {
		return nil
	}
	f, err := os.Create(mdPath)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := md(f, rep); err != nil {
		f.Close()
		return fmt.Errorf("report %s: %w", mdPath, err)
	}
	return f.Close()
}
