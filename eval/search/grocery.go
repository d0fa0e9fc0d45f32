package search

import (
	"cmp"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/eval/labels"
	"github.com/vitrinehq/vitrine/eval/metrics"
)

// GroceryQueries builds a test collection from a catalog labelled like the
// grocery demo: attributes fine_class_id and coarse_class_id, and a
// category path ending in the coarse and the fine class name ("Fruit >
// Apple > Golden Delicious").
//
// One query per product is its fine class name: grade 2 for that product,
// 1 for the other products of its coarse class (a Granny Smith is a fair
// answer to "Golden Delicious", a banana is not). One query per coarse
// class is the class name ("Apple"): grade 2 for each of its products.
// A coarse query whose text equals a product query ("Avocado", a class of
// one product) would count the same question twice and is left out.
func GroceryQueries(products []catalog.Product) ([]Query, map[string]metrics.Relevance, error) {
	type labelled struct {
		id                 string
		fine, coarse       int
		fineName, coarseNm string
	}
	var ls []labelled
	for _, p := range products {
		f, ok1 := labels.ClassID(p.Attributes, labels.FineClass)
		c, ok2 := labels.ClassID(p.Attributes, labels.CoarseClass)
		if !ok1 || !ok2 {
			continue
		}
		l := labelled{id: p.ID, fine: f, coarse: c}
		if n := len(p.Category); n >= 2 {
			l.fineName, l.coarseNm = p.Category[n-1], p.Category[n-2]
		} else if _, name, ok := strings.Cut(strings.TrimPrefix(p.ID, "grocery-"), "-"); ok {
			// grocery-<id>-<fine-class-name>: the class name with dashes.
			l.fineName = strings.ReplaceAll(name, "-", " ")
		}
		if strings.TrimSpace(l.fineName) == "" {
			continue
		}
		ls = append(ls, l)
	}
	if len(ls) == 0 {
		return nil, nil, fmt.Errorf("no ingested product has attributes.%s, attributes.%s and a category path: ingest demo/grocery/catalog.jsonl", labels.FineClass, labels.CoarseClass)
	}
	slices.SortFunc(ls, func(a, b labelled) int { return cmp.Or(cmp.Compare(a.fine, b.fine), cmp.Compare(a.id, b.id)) })
	var qs []Query
	qrels := map[string]metrics.Relevance{}
	texts := map[string]bool{}
	for _, l := range ls {
		qid := fmt.Sprintf("fine-%02d", l.fine)
		if _, dup := qrels[qid]; dup {
			qid = fmt.Sprintf("fine-%02d-%s", l.fine, l.id) // two products of one class
		}
		rel := metrics.Relevance{}
		for _, o := range ls {
			switch {
			case o.fine == l.fine:
				rel[o.id] = 2
			case o.coarse == l.coarse:
				rel[o.id] = 1
			}
		}
		qs = append(qs, Query{ID: qid, Text: l.fineName})
		qrels[qid] = rel
		texts[strings.ToLower(l.fineName)] = true
	}
	coarse := map[int]string{}
	for _, l := range ls {
		if _, ok := coarse[l.coarse]; !ok && l.coarseNm != "" {
			coarse[l.coarse] = l.coarseNm
		}
	}
	ids := make([]int, 0, len(coarse))
	for c := range coarse {
		ids = append(ids, c)
	}
	slices.Sort(ids)
	for _, c := range ids {
		if texts[strings.ToLower(coarse[c])] {
			continue
		}
		qid := fmt.Sprintf("coarse-%02d", c)
		rel := metrics.Relevance{}
		for _, l := range ls {
			if l.coarse == c {
				rel[l.id] = 2
			}
		}
		qs = append(qs, Query{ID: qid, Text: coarse[c]})
		qrels[qid] = rel
	}
	return qs, qrels, nil
}

// WriteQueries writes qs as a TREC topics file.
func WriteQueries(path string, qs []Query) error {
	var b strings.Builder
	for _, q := range qs {
		fmt.Fprintf(&b, "%s\t%s\n", q.ID, q.Text)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// WriteQrels writes the judgements of qs as a TREC qrels file.
func WriteQrels(path string, qs []Query, qrels map[string]metrics.Relevance) error {
	var b strings.Builder
	for _, q := range qs {
		docs := make([]string, 0, len(qrels[q.ID]))
		for d := range qrels[q.ID] {
			docs = append(docs, d)
		}
		slices.Sort(docs)
		for _, d := range docs {
			fmt.Fprintf(&b, "%s 0 %s %s\n", q.ID, d, strconv.FormatFloat(qrels[q.ID][d], 'f', -1, 64))
		}
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
