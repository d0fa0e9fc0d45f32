package data

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestReadFormats(t *testing.T) {
	// The same three MovieLens-style ratings in every layout.
	full := []Interaction{{"1", "10", 5, 100}, {"1", "11", 3, 200}, {"2", "10", 4.5, 150}}
	tests := []struct {
		file      string
		format    Format
		want      []Interaction
		hasRating bool
		hasTime   bool
	}{
		{"plain.txt", Auto, full, true, true},
		{"plain.txt", Whitespace, full, true, true},
		{"header.csv", Auto, full, true, true},
		{"noheader.csv", Auto, full, true, true},
		{"noheader.csv", CSV, full, true, true},
		{"u.data", Auto, full, true, true},
		{"u.data", MovieLens, full, true, true},
		// The whitespace reader also splits on tabs.
		{"u.data", Whitespace, full, true, true},
		{"ratings.dat", Auto, full[:2], true, true},
		// Columns found by name, in any order, extra columns ignored.
		{"named.csv", Auto, []Interaction{{User: "alice", Item: "10"}, {User: "bob", Item: "11"}}, false, false},
		{"pairs.txt", Auto, []Interaction{{User: "alice", Item: "bread"}, {User: "alice", Item: "milk"}, {User: "bob", Item: "bread"}}, false, false},
		// A whitespace header; 2024-01-02T00:00:00Z is 1704153600.
		{"header.txt", Auto, []Interaction{{User: "u1", Item: "i1", Time: 1704153600}, {User: "u1", Item: "i2", Time: 86400}}, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.file+"/"+string(tc.format), func(t *testing.T) {
			d, err := ReadFile(filepath.Join("testdata", tc.file), tc.format)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(d.Interactions, tc.want) {
				t.Errorf("got %+v\nwant %+v", d.Interactions, tc.want)
			}
			if d.HasRating != tc.hasRating || d.HasTime != tc.hasTime {
				t.Errorf("rating %v time %v, want %v %v", d.HasRating, d.HasTime, tc.hasRating, tc.hasTime)
			}
		})
	}
}

func TestReadErrorsNameFileAndLine(t *testing.T) {
	tests := []struct {
		file   string
		format Format
		want   string // file:line: reason
	}{
		{"ragged.txt", Auto, "ragged.txt:2: 3 fields, earlier lines have 4"},
		{"badrating.txt", Auto, `badrating.txt:1: rating "five" is not a finite number`},
		{"badtime.csv", Auto, `badtime.csv:1: timestamp "yesterday" is neither Unix seconds nor RFC 3339`},
		{"short.data", Auto, "short.data:1: MovieLens lines have 4 fields (user, item, rating, timestamp), this one has 3"},
		{"badquote.csv", Auto, "badquote.csv:1: "},
		{"nouser.csv", Auto, "nouser.csv:1: the header \"rating timestamp\" names no user or no item column"},
		// Forced to the wrong format, a CSV line is one whitespace field.
		{"named.csv", Whitespace, "named.csv:1: 1 fields, want user item [rating] [timestamp]"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			_, err := ReadFile(filepath.Join("testdata", tc.file), tc.format)
			var pe *ParseError
			if !errors.As(err, &pe) || !errors.Is(err, ErrParse) {
				t.Fatalf("got %v, want a ParseError", err)
			}
			if got := strings.TrimPrefix(err.Error(), "testdata/"); !strings.HasPrefix(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestReadInline(t *testing.T) {
	tests := []struct {
		name, in string
		format   Format
		want     string
	}{
		{"empty user in CSV", ",10\n", CSV, "x:1: empty user id"},
		{"empty item in CSV", "1,\n", CSV, "x:1: empty item id"},
		{"one field", "1\n", Whitespace, "x:1: 1 fields, want user item [rating] [timestamp]"},
		{"five fields", "1 2 3 4 5\n", Whitespace, "x:1: 5 fields, want user item [rating] [timestamp]"},
		{"infinite rating", "1 2 Inf\n", Whitespace, `x:1: rating "Inf" is not a finite number`},
		{"header width", "user,item\n1,2,3\n", CSV, "x:2: 3 fields, the header has 2"},
		{"line after blanks", "1 2\n\n\n1\n", Whitespace, "x:4: 1 fields, earlier lines have 2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(strings.NewReader(tc.in), "x", tc.format)
			if err == nil || err.Error() != tc.want {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := ReadFile(filepath.Join("testdata", "empty.txt"), Auto); !errors.Is(err, ErrParse) || !strings.Contains(err.Error(), "no interactions") {
		t.Errorf("empty file: %v", err)
	}
	if _, err := Read(strings.NewReader("1 2\n"), "x", "parquet"); err == nil || !strings.Contains(err.Error(), `unknown interaction format "parquet"`) {
		t.Errorf("unknown format: %v", err)
	}
	if _, err := ReadFile(filepath.Join("testdata", "missing.txt"), Auto); err == nil {
		t.Error("a missing file read without error")
	}
}
