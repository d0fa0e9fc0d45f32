package search

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/vitrinehq/vitrine/eval/metrics"
)

// Query is one line of a TREC topics file: qid<TAB>text.
type Query struct {
	ID   string `json:"qid"`
	Text string `json:"text"`
}

// ReadQueries reads a TREC-style topics file: "qid<TAB>text" a line, blank
// lines and #-comments skipped; errors name the file and line.
func ReadQueries(path string) ([]Query, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Query
	seen := map[string]int{}
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, text, ok := strings.Cut(line, "\t")
		id, text = strings.TrimSpace(id), strings.TrimSpace(text)
		if !ok || id == "" || text == "" {
			return nil, fmt.Errorf("%s:%d: want qid<TAB>query text", path, n)
		}
		if prev, dup := seen[id]; dup {
			return nil, fmt.Errorf("%s:%d: query id %q already on line %d", path, n, id, prev)
		}
		seen[id] = n
		out = append(out, Query{ID: id, Text: text})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no queries", path)
	}
	return out, nil
}

// ReadQrels reads TREC relevance judgements "qid iteration docid grade"
// (the iteration column is ignored, as trec_eval does).
func ReadQrels(path string) (map[string]metrics.Relevance, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]metrics.Relevance{}
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		if len(fields) != 4 {
			return nil, fmt.Errorf("%s:%d: %d fields, want qid 0 docid grade", path, n, len(fields))
		}
		g, err := strconv.ParseFloat(fields[3], 64)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: grade %q is not a number", path, n, fields[3])
		}
		qid, doc := fields[0], fields[2]
		if out[qid] == nil {
			out[qid] = metrics.Relevance{}
		}
		if _, dup := out[qid][doc]; dup {
			return nil, fmt.Errorf("%s:%d: %s judged twice for query %s", path, n, doc, qid)
		}
		out[qid][doc] = g
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}
