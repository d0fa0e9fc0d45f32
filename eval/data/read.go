// Package data reads user-item interaction files and splits them into
// train, validation and test sets for offline recommender evaluation.
//
// Files hold one interaction a line, "user item [rating] [timestamp]":
// whitespace-separated text, CSV with or without a header, or MovieLens
// (u.data: tab-separated user, item, rating, timestamp; ratings.dat with
// "::"). Every malformed line is reported as file:line: reason.
package data

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Interaction is one user-item event.
type Interaction struct {
	User   string  `json:"user"`
	Item   string  `json:"item"`
	Rating float64 `json:"rating,omitempty"`
	// Time is in Unix seconds.
	Time int64 `json:"time,omitempty"`
}

// Dataset is a file's interactions, in file order, and which optional
// columns it had (every line has the same columns).
type Dataset struct {
	Interactions []Interaction
	HasRating    bool
	HasTime      bool
}

// Format is an interaction file's layout.
type Format string

// The formats Read understands.
const (
	// Auto picks CSV for .csv files, MovieLens for *.data (u.data) and
	// *.dat (ratings.dat), and otherwise CSV when the first data line has
	// a comma, else Whitespace.
	Auto       Format = ""
	Whitespace Format = "whitespace"
	CSV        Format = "csv"
	MovieLens  Format = "movielens"
)

// ErrParse is what every ParseError wraps.
var ErrParse = errors.New("malformed interaction file")

// ParseError names the file and line of a malformed interaction.
type ParseError struct {
	File   string
	Line   int
	Reason string
}

func (e *ParseError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Reason) }

// Unwrap lets callers test errors.Is(err, ErrParse).
func (e *ParseError) Unwrap() error { return ErrParse }

// ReadFile reads an interaction file; Auto detects its format.
func ReadFile(path string, f Format) (Dataset, error) {
	fh, err := os.Open(path)
	if err != nil {
		return Dataset{}, err
	}
	defer fh.Close()
	if f == Auto {
		base := strings.ToLower(filepath.Base(path))
		switch {
		case strings.HasSuffix(base, ".csv"):
			f = CSV
		case strings.HasSuffix(base, ".data") || strings.HasSuffix(base, ".dat"):
			f = MovieLens
		}
	}
	return Read(fh, path, f)
}

// Read reads interactions from r; name is the file name errors give.
func Read(r io.Reader, name string, f Format) (Dataset, error) {
	br := bufio.NewReader(r)
	if f == Auto {
		peek, _ := br.Peek(64 << 10)
		f = sniff(peek)
	}
	p := &parser{file: name}
	switch f {
	case CSV:
		return p.readCSV(br)
	case Whitespace, MovieLens:
		return p.readLines(br, f)
	default:
		return Dataset{}, fmt.Errorf("%s: unknown interaction format %q (want whitespace, csv or movielens)", name, f)
	}
}

// sniff looks at the first line that is neither blank nor a comment.
func sniff(b []byte) Format {
	for line := range strings.SplitSeq(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.Contains(line, ",") {
			return CSV
		}
		return Whitespace
	}
	return Whitespace
}

type parser struct {
	file   string
	ds     Dataset
	fields int // columns of the first data line; every line must match
	// started is set after the first record; cols are the user, item,
	// rating and timestamp positions (from the header, if any).
	started bool
	cols    [4]int
}

func (p *parser) errf(line int, format string, args ...any) error {
	return &ParseError{File: p.file, Line: line, Reason: fmt.Sprintf(format, args...)}
}

func (p *parser) readLines(r io.Reader, f Format) (Dataset, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var fields []string
		switch {
		case f == MovieLens && strings.Contains(line, "::"):
			fields = strings.Split(line, "::")
		case f == MovieLens:
			fields = strings.Split(line, "\t")
		default:
			fields = strings.Fields(line)
		}
		if f == MovieLens && len(fields) != 4 {
			return p.ds, p.errf(n, "MovieLens lines have 4 fields (user, item, rating, timestamp), this one has %d", len(fields))
		}
		if err := p.record(n, fields, f != MovieLens); err != nil {
			return p.ds, err
		}
	}
	if err := sc.Err(); err != nil {
		return p.ds, p.errf(n+1, "%v", err)
	}
	return p.done()
}

// Header names accepted for each column, compared lower-case without
// '_', '-' or spaces (so user_id, userId and "User ID" all match).
var headerNames = [4][]string{
	{"user", "userid", "uid", "customer", "customerid", "reviewerid"},
	{"item", "itemid", "iid", "movie", "movieid", "product", "productid", "asin", "sku"},
	{"rating", "score", "stars"},
	{"timestamp", "time", "ts", "datetime", "date", "unixreviewtime"},
}

func normHeader(s string) string {
	return strings.ToLower(strings.NewReplacer("_", "", "-", "", " ", "").Replace(strings.TrimSpace(s)))
}

// headerColumns maps a header record to column positions (-1: absent);
// ok is false when no field is a known column name, so the record is data.
func headerColumns(rec []string) (cols [4]int, ok bool) {
	cols = [4]int{-1, -1, -1, -1}
	for i, f := range rec {
		h := normHeader(f)
		for c, names := range headerNames {
			for _, n := range names {
				if h == n && cols[c] < 0 {
					cols[c] = i
					ok = true
				}
			}
		}
	}
	return cols, ok
}

func (p *parser) readCSV(r io.Reader) (Dataset, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // checked here, with a clearer message
	cr.TrimLeadingSpace = true
	cr.Comment = '#'
	cr.ReuseRecord = true
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return p.ds, p.errf(pe.Line, "%v", pe.Err)
			}
			return p.ds, fmt.Errorf("%s: %w", p.file, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if err := p.record(line, rec, true); err != nil {
			return p.ds, err
		}
	}
	return p.done()
}

// record takes one line's fields: the first may be a header (when headers
// are allowed and it names a known column), the others are interactions.
func (p *parser) record(line int, rec []string, headers bool) error {
	if !p.started {
		p.started = true
		p.cols = [4]int{0, 1, 2, 3}
		if hc, ok := headerColumns(rec); ok && headers {
			if hc[0] < 0 || hc[1] < 0 {
				return p.errf(line, "the header %q names no user or no item column", strings.Join(rec, " "))
			}
			p.cols = hc
			p.fields = -len(rec) // header mode: columns by name, extra columns ignored
			return nil
		}
	}
	return p.add(line, rec, p.cols)
}

// add parses one record; cols gives the positions of user, item, rating
// and timestamp (-1 when the header has no such column).
func (p *parser) add(line int, rec []string, cols [4]int) error {
	switch {
	case p.fields < 0: // header mode
		if len(rec) != -p.fields {
			return p.errf(line, "%d fields, the header has %d", len(rec), -p.fields)
		}
		if len(p.ds.Interactions) == 0 {
			p.ds.HasRating, p.ds.HasTime = cols[2] >= 0, cols[3] >= 0
		}
	case p.fields == 0:
		if len(rec) < 2 || len(rec) > 4 {
			return p.errf(line, "%d fields, want user item [rating] [timestamp]", len(rec))
		}
		p.fields = len(rec)
		p.ds.HasRating, p.ds.HasTime = len(rec) >= 3, len(rec) == 4
	default:
		if len(rec) != p.fields {
			return p.errf(line, "%d fields, earlier lines have %d", len(rec), p.fields)
		}
	}
	x := Interaction{User: strings.TrimSpace(rec[cols[0]]), Item: strings.TrimSpace(rec[cols[1]])}
	if x.User == "" {
		return p.errf(line, "empty user id")
	}
	if x.Item == "" {
		return p.errf(line, "empty item id")
	}
	if p.ds.HasRating {
		s := strings.TrimSpace(rec[cols[2]])
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return p.errf(line, "rating %q is not a finite number", s)
		}
		x.Rating = v
	}
	if p.ds.HasTime {
		s := strings.TrimSpace(rec[cols[3]])
		t, err := parseTime(s)
		if err != nil {
			return p.errf(line, "timestamp %q is neither Unix seconds nor RFC 3339", s)
		}
		x.Time = t
	}
	p.ds.Interactions = append(p.ds.Interactions, x)
	return nil
}

func parseTime(s string) (int64, error) {
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return v, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return 0, err
	}
	return t.Unix(), nil
}

func (p *parser) done() (Dataset, error) {
	if len(p.ds.Interactions) == 0 {
		return p.ds, fmt.Errorf("%s: %w: no interactions", p.file, ErrParse)
	}
	return p.ds, nil
}
