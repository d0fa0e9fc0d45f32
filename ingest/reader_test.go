package ingest_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/ingest"
)

// readAll drains a reader into good rows and row errors.
func readAll(t *testing.T, r ingest.Reader) ([]ingest.Row, []*ingest.RowError) {
	t.Helper()
	var rows []ingest.Row
	var bad []*ingest.RowError
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			return rows, bad
		}
		var re *ingest.RowError
		if errors.As(err, &re) {
			bad = append(bad, re)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, row)
	}
}

func open(t *testing.T, name string, f ingest.Format) ingest.Reader {
	t.Helper()
	fh, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fh.Close() })
	r, err := ingest.NewReader(fh, f, "/cat")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestJSONLMalformedRows(t *testing.T) {
	rows, bad := readAll(t, open(t, "malformed.jsonl", ingest.JSONL))
	var ids []string
	for _, r := range rows {
		ids = append(ids, r.Product.ID)
	}
	if strings.Join(ids, ",") != "ok-1,ok-2,ok-3" {
		t.Errorf("good rows %v", ids)
	}
	wantBad := map[int]string{2: "bad JSON", 3: "id: is required", 4: `field "price"`, 7: `unknown field "colour"`, 8: "price: out of range", 10: "bad JSON"}
	if len(bad) != len(wantBad) {
		t.Errorf("%d bad rows, want %d: %v", len(bad), len(wantBad), bad)
	}
	for _, b := range bad {
		want, ok := wantBad[b.Line]
		if !ok || !strings.Contains(b.Reason, want) {
			t.Errorf("line %d: reason %q, want it to contain %q", b.Line, b.Reason, want)
		}
	}
	if rows[0].Line != 1 || rows[1].Line != 6 || rows[2].Line != 9 {
		t.Errorf("line numbers %d %d %d", rows[0].Line, rows[1].Line, rows[2].Line)
	}
	p := rows[0].Product
	if p.Currency != "EUR" || len(p.Category) != 2 || p.Category[1] != "Apple" || *p.Price != 0.5 {
		t.Errorf("row 1 parsed as %+v", p)
	}
	banana := rows[1].Product
	if len(banana.Media) != 1 || banana.Media[0].URI != "/cat/img/banana.jpg" || banana.Media[0].Kind != catalog.MediaImage {
		t.Errorf("relative image not resolved: %+v", banana.Media)
	}
	if rows[2].Product.Media[0].URI != "https://example.com/lime.wav" {
		t.Errorf("URL changed: %+v", rows[2].Product.Media)
	}
}

func TestCSVMalformedRows(t *testing.T) {
	rows, bad := readAll(t, open(t, "malformed.csv", ingest.CSV))
	if len(rows) != 2 || rows[0].Product.ID != "ok-1" || rows[1].Product.ID != "ok-2" {
		t.Fatalf("good rows %+v", rows)
	}
	apple := rows[0].Product
	if len(apple.Media) != 2 || apple.Attributes["color"] != "yellow" || apple.Category[0] != "Fruit" {
		t.Errorf("apple %+v", apple)
	}
	if rows[1].Product.Title != "Banana, organic" || rows[1].Product.Category[1] != "Banana" || rows[1].Line != 6 {
		t.Errorf("banana %+v line %d", rows[1].Product, rows[1].Line)
	}
	wantBad := map[int]string{3: "id: is required", 4: "price", 5: "fields", 7: "currency"}
	if len(bad) != len(wantBad) {
		t.Errorf("bad rows %v", bad)
	}
	for _, b := range bad {
		if want := wantBad[b.Line]; want == "" || !strings.Contains(b.Reason, want) {
			t.Errorf("line %d: %q, want %q", b.Line, b.Reason, want)
		}
	}
}

func TestCSVHeaderErrors(t *testing.T) {
	for _, tc := range []struct{ name, data, want string }{
		{"unknown column", "id,title,colour\n", `unknown CSV column "colour"`},
		{"no title", "id,brand\n", "id and title"},
		{"duplicate", "id,title,id\n", "twice"},
		{"empty", "", "header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ingest.NewReader(strings.NewReader(tc.data), ingest.CSV, "")
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "line 1") {
				t.Errorf("err %v, want line 1 and %q", err, tc.want)
			}
		})
	}
}

func TestOverlongLine(t *testing.T) {
	data := `{"id":"a","title":"A"}` + "\n" + `{"id":"b","title":"` + strings.Repeat("x", ingest.MaxLineBytes) + `"}` + "\n" + `{"id":"c","title":"C"}`
	r, _ := ingest.NewReader(strings.NewReader(data), ingest.JSONL, "")
	rows, bad := readAll(t, r)
	if len(rows) != 2 || len(bad) != 1 || bad[0].Line != 2 {
		t.Errorf("rows %v bad %v", rows, bad)
	}
}

func TestFormatOf(t *testing.T) {
	for name, want := range map[string]ingest.Format{"a.jsonl": ingest.JSONL, "b.CSV": ingest.CSV, "c.ndjson": ingest.JSONL} {
		if got, err := ingest.FormatOf(name); err != nil || got != want {
			t.Errorf("%s: %v %v", name, got, err)
		}
	}
	if _, err := ingest.FormatOf("x.xml"); err == nil {
		t.Error("xml accepted")
	}
}
