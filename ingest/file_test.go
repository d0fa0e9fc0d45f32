package ingest

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/records"
)

func TestOpen(t *testing.T) {
	tests := []struct {
		path, format string
		rows         int // good rows
		wantErr      bool
	}{
		{"testdata/malformed.jsonl", "", 0, false},
		{"testdata/malformed.csv", "", 0, false},
		{"testdata/malformed.csv", "csv", 0, false},
		{"testdata/none.txt", "", 0, true},
		{"testdata/none.jsonl", "", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.path+"/"+tt.format, func(t *testing.T) {
			f, err := Open(tt.path, Format(tt.format))
			if tt.wantErr {
				if err == nil {
					f.Close()
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			for {
				if _, err := f.Next(); err == io.EOF {
					break
				}
			}
			if f.Size == 0 || f.BytesRead() != f.Size {
				t.Errorf("read %d of %d bytes", f.BytesRead(), f.Size)
			}
		})
	}
}

func TestRejectsPath(t *testing.T) {
	if got, want := RejectsPath(filepath.Join("d", "cat.jsonl")), filepath.Join("d", "cat.rejects.jsonl"); got != want {
		t.Errorf("RejectsPath = %q, want %q", got, want)
	}
}

func TestSummaryText(t *testing.T) {
	tests := []struct {
		name    string
		sum     Summary
		enqueue bool
		want    string
	}{
		{"encoded", Summary{Rows: 3, Inserted: 2, Updated: 1, Indexed: 3, Encoded: map[string]int{"t@1": 3, "i@1": 2}}, false,
			"rows 3: inserted 2, updated 1, unchanged 0, rejected 0\nvectors in space 4: 3 written, 0 already up to date; models run: i@1×2 t@1×3\n"},
		{"nothing run", Summary{Rows: 1, Unchanged: 1, UpToDate: 1, Warnings: 1}, false,
			"rows 1: inserted 0, updated 0, unchanged 1, rejected 0\nvectors in space 4: 0 written, 1 already up to date; models run: none\n" +
				"1 products stored without some of their media (listed as partial in the reject file)\n"},
		{"enqueued", Summary{Rows: 2, Inserted: 2, Enqueued: 2, Rejected: 1}, true,
			"rows 2: inserted 2, updated 0, unchanged 0, rejected 1\nqueued 2 encoding jobs for space 4 (run `vitrine worker`)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := tt.sum.Text(&b, 4, tt.enqueue); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tt.want)
			}
		})
	}
}

// storeAll is an in-memory ProductWriter that inserts every product.
type storeAll struct{}

func (storeAll) UpsertProducts(_ context.Context, ps []catalog.Product) ([]records.UpsertResult, error) {
	res := make([]records.UpsertResult, len(ps))
	for i, p := range ps {
		res[i] = records.UpsertResult{ID: p.ID, Status: records.Inserted}
	}
	return res, nil
}

func TestRunFile(t *testing.T) {
	tests := []struct {
		name, catalog string
		rejected      int
		keepsRejects  bool
	}{
		{"clean", `{"id":"a","title":"A"}` + "\n" + `{"id":"b","title":"B"}` + "\n", 0, false},
		{"one bad row", `{"id":"a","title":"A"}` + "\n" + `{"title":"no id"}` + "\n", 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "cat.jsonl")
			if err := os.WriteFile(path, []byte(tt.catalog), 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := Open(path, "")
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var queued []string
			enqueue := func(_ context.Context, _ int, ids []string) (int, error) {
				queued = append(queued, ids...)
				return len(ids), nil
			}
			sum, err := RunFile(t.Context(), f, RejectsPath(path), Options{Writer: storeAll{}, Enqueue: enqueue})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Rejected != tt.rejected || sum.Rows != 2 || len(queued) != 2-tt.rejected {
				t.Errorf("summary %+v, queued %v", sum, queued)
			}
			_, err = os.Stat(RejectsPath(path))
			if kept := err == nil; kept != tt.keepsRejects {
				t.Errorf("reject file kept: %v, want %v", kept, tt.keepsRejects)
			}
		})
	}
	if _, err := RunFile(t.Context(), nil, filepath.Join(t.TempDir(), "no", "dir", "r.jsonl"), Options{}); err == nil {
		t.Error("an uncreatable reject file: no error")
	}
}
