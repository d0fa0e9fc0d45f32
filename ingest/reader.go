// Package ingest turns catalog files into stored, encoded products: it
// streams JSON Lines or CSV rows, validates them, writes good rows and
// reports bad ones by line number, and runs the encode-and-fuse step, several
// batches in flight so one batch's database writes overlap the next one's
// encoding (Run). It also owns when a load's HNSW indexes are maintained:
// into a small catalog they are dropped and built once after the load
// (IndexDeferral, EnsureIndexes).
package ingest

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vitrinehq/vitrine/catalog"
)

// Format is a catalog file format.
type Format string

// Supported formats.
const (
	JSONL Format = "jsonl"
	CSV   Format = "csv"
)

// FormatOf guesses the format from a file name.
func FormatOf(name string) (Format, error) {
	switch strings.ToLower(filepath.Ext(strings.TrimSuffix(name, ".gz"))) {
	case ".jsonl", ".ndjson", ".json":
		return JSONL, nil
	case ".csv":
		return CSV, nil
	}
	return "", fmt.Errorf("%s: cannot tell the format from the extension; use .jsonl or .csv, or pass --format", name)
}

// MaxLineBytes bounds one row so a corrupt file cannot exhaust memory.
const MaxLineBytes = 4 << 20

// Row is one parsed catalog row.
type Row struct {
	Line    int
	Product catalog.Product
}

// RowError is a bad row: its line, the product id when known, and why.
type RowError struct {
	Line   int    `json:"line"`
	ID     string `json:"id,omitempty"`
	Reason string `json:"reason"`
	// Partial marks a row that landed without some of its media (an
	// unreadable image of a product whose text was fine).
	Partial bool `json:"partial,omitempty"`
}

func (e *RowError) Error() string {
	if e.ID != "" {
		return fmt.Sprintf("line %d (id %q): %s", e.Line, e.ID, e.Reason)
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Reason)
}

// Reader streams rows from a catalog file in constant memory. Next returns
// a *RowError for a bad row, after which reading continues.
type Reader interface {
	Next() (Row, error)
}

// NewReader reads format from r; relative media paths are resolved against
// baseDir (the catalog file's directory).
func NewReader(r io.Reader, format Format, baseDir string) (Reader, error) {
	switch format {
	case JSONL:
		br := bufio.NewReaderSize(r, 64<<10)
		return &jsonlReader{r: br, base: baseDir}, nil
	case CSV:
		return newCSVReader(r, baseDir)
	}
	return nil, fmt.Errorf("unknown catalog format %q (want jsonl or csv)", format)
}

// record is the documented row schema (see README "Catalog files").
type record struct {
	ID          string         `json:"id"`
	Title       string         `json:"title"`
	Description string         `json:"description"`
	Brand       string         `json:"brand"`
	Category    categoryField  `json:"category"`
	Price       *float64       `json:"price"`
	Currency    string         `json:"currency"`
	Attributes  map[string]any `json:"attributes"`
	Images      []string       `json:"images"`
	Audio       []string       `json:"audio"`
}

// categoryField accepts a path as a list or as "A > B".
type categoryField []string

func (c *categoryField) UnmarshalJSON(b []byte) error {
	var list []string
	if err := json.Unmarshal(b, &list); err == nil {
		*c = list
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New("category must be a string path (\"A > B\") or a list of strings")
	}
	*c = splitCategory(s)
	return nil
}

func splitCategory(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	sep := ">"
	if !strings.Contains(s, ">") && strings.Contains(s, "/") {
		sep = "/"
	}
	var out []string
	for _, p := range strings.Split(s, sep) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (rec record) product(base string) catalog.Product {
	p := catalog.Product{
		ID: rec.ID, Title: rec.Title, Description: rec.Description, Brand: rec.Brand,
		Category: rec.Category, Price: rec.Price, Currency: rec.Currency, Attributes: rec.Attributes,
	}
	for _, u := range rec.Images {
		p.Media = append(p.Media, catalog.Media{Kind: catalog.MediaImage, URI: resolve(base, u)})
	}
	for _, u := range rec.Audio {
		p.Media = append(p.Media, catalog.Media{Kind: catalog.MediaAudio, URI: resolve(base, u)})
	}
	return p
}

// resolve makes a relative local path absolute against the catalog's
// directory; URLs and absolute paths are kept.
func resolve(base, ref string) string {
	ref = strings.TrimSpace(ref)
	if ref == "" || strings.Contains(ref, "://") || filepath.IsAbs(ref) || base == "" {
		return ref
	}
	return filepath.Join(base, ref)
}

// validateRow runs the product's own validation and wraps failures.
func validateRow(line int, p catalog.Product) (Row, error) {
	if err := p.Validate(); err != nil {
		return Row{}, &RowError{Line: line, ID: p.ID, Reason: err.Error()}
	}
	return Row{Line: line, Product: p}, nil
}

type jsonlReader struct {
	r    *bufio.Reader
	base string
	line int
}

func (j *jsonlReader) Next() (Row, error) {
	for {
		raw, tooLong, err := j.readLine()
		if err != nil {
			return Row{}, err
		}
		j.line++
		if tooLong {
			return Row{}, &RowError{Line: j.line, Reason: fmt.Sprintf("line longer than %d bytes", MaxLineBytes)}
		}
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 {
			continue
		}
		return ParseRecord(raw, j.line, j.base)
	}
}

// ParseRecord decodes one JSON catalog record (the JSON Lines schema)
// strictly: unknown fields and wrong types are row errors naming the field.
// line numbers the record in its source (a file line or a batch index).
func ParseRecord(raw []byte, line int, baseDir string) (Row, error) {
	var rec record
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		return Row{}, &RowError{Line: line, ID: peekID(raw), Reason: "bad JSON: " + jsonReason(err)}
	}
	if dec.More() {
		return Row{}, &RowError{Line: line, ID: rec.ID, Reason: "bad JSON: more than one value"}
	}
	return validateRow(line, rec.product(baseDir))
}

// SliceReader serves already-split records (an API batch) as a Reader;
// Line is the record's 1-based index.
type SliceReader struct {
	Records [][]byte
	next    int
}

// Next implements Reader.
func (s *SliceReader) Next() (Row, error) {
	if s.next >= len(s.Records) {
		return Row{}, io.EOF
	}
	s.next++
	return ParseRecord(s.Records[s.next-1], s.next, "")
}

// readLine reads one line, discarding (but reporting) lines over the limit
// so memory stays bounded.
func (j *jsonlReader) readLine() ([]byte, bool, error) {
	var buf []byte
	tooLong := false
	for {
		chunk, isPrefix, err := j.r.ReadLine()
		if err != nil {
			if errors.Is(err, io.EOF) && (len(buf) > 0 || tooLong) {
				return buf, tooLong, nil
			}
			return nil, false, err
		}
		if !tooLong {
			if len(buf)+len(chunk) > MaxLineBytes {
				tooLong, buf = true, nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		if !isPrefix {
			return buf, tooLong, nil
		}
	}
}

// jsonReason makes encoding/json's messages name the field plainly.
func jsonReason(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("field %q: expected %s, got %s", te.Field, te.Type, te.Value)
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return "unknown field " + f
	}
	return strings.TrimPrefix(msg, "json: ")
}

// peekID recovers the id of a row whose JSON is otherwise wrong, for the
// reject report.
func peekID(raw []byte) string {
	var v struct {
		ID any `json:"id"`
	}
	if json.Unmarshal(raw, &v) == nil {
		if s, ok := v.ID.(string); ok {
			return s
		}
	}
	return ""
}

// CSV columns: the record's fields, with category as a path ("A > B"),
// images and audio as "|"-separated lists, attributes as a JSON object, and
// any "attr.NAME" column as one string attribute.
type csvReader struct {
	r    *csv.Reader
	base string
	cols []string
}

func newCSVReader(r io.Reader, base string) (*csvReader, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("line 1: reading CSV header: %w", err)
	}
	known := map[string]bool{"id": true, "title": true, "description": true, "brand": true, "category": true,
		"price": true, "currency": true, "attributes": true, "images": true, "audio": true}
	cols := make([]string, len(header))
	seen := map[string]bool{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if !known[h] && !strings.HasPrefix(h, "attr.") {
			return nil, fmt.Errorf("line 1: unknown CSV column %q (known: id, title, description, brand, category, price, currency, attributes, images, audio, attr.NAME)", h)
		}
		if seen[h] {
			return nil, fmt.Errorf("line 1: CSV column %q appears twice", h)
		}
		seen[h] = true
		cols[i] = h
	}
	if !seen["id"] || !seen["title"] {
		return nil, errors.New("line 1: CSV header needs at least the columns id and title")
	}
	return &csvReader{r: cr, base: base, cols: cols}, nil
}

func (c *csvReader) Next() (Row, error) {
	fields, err := c.r.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return Row{}, &RowError{Line: pe.StartLine, Reason: "bad CSV: " + pe.Err.Error()}
		}
		return Row{}, err
	}
	line, _ := c.r.FieldPos(0)
	if len(fields) != len(c.cols) {
		return Row{}, &RowError{Line: line, Reason: fmt.Sprintf("has %d fields, the header has %d", len(fields), len(c.cols))}
	}
	var rec record
	for i, col := range c.cols {
		v := fields[i]
		switch col {
		case "id":
			rec.ID = v
		case "title":
			rec.Title = v
		case "description":
			rec.Description = v
		case "brand":
			rec.Brand = v
		case "category":
			rec.Category = splitCategory(v)
		case "currency":
			rec.Currency = v
		case "price":
			if strings.TrimSpace(v) == "" {
				continue
			}
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return Row{}, &RowError{Line: line, ID: rec.ID, Reason: fmt.Sprintf("price: %q is not a number", v)}
			}
			rec.Price = &f
		case "attributes":
			if strings.TrimSpace(v) == "" {
				continue
			}
			if err := json.Unmarshal([]byte(v), &rec.Attributes); err != nil {
				return Row{}, &RowError{Line: line, ID: rec.ID, Reason: "attributes: not a JSON object"}
			}
		case "images", "audio":
			for _, u := range strings.Split(v, "|") {
				if u = strings.TrimSpace(u); u != "" {
					if col == "images" {
						rec.Images = append(rec.Images, u)
					} else {
						rec.Audio = append(rec.Audio, u)
					}
				}
			}
		default: // attr.NAME
			if v != "" {
				if rec.Attributes == nil {
					rec.Attributes = map[string]any{}
				}
				rec.Attributes[strings.TrimPrefix(col, "attr.")] = v
			}
		}
	}
	return validateRow(line, rec.product(c.base))
}
