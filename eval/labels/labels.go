// Package labels reads the class labels that evaluation collections keep
// on catalog products (the grocery demo catalog's fine and coarse class
// ids), and lists the ingested products an evaluation runs over.
package labels

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/vitrinehq/vitrine/catalog"
)

// The product attributes that hold a labelled catalog's classes.
const (
	FineClass   = "fine_class_id"
	CoarseClass = "coarse_class_id"
)

// ClassID reads an integer class attribute as stored (JSON numbers come
// back as float64; a catalog may also have written strings).
func ClassID(attrs map[string]any, key string) (int, bool) {
	switch v := attrs[key].(type) {
	case float64:
		if v == float64(int(v)) {
			return int(v), true
		}
	case int:
		return v, true
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return int(n), true
		}
	case string:
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
			return n, true
		}
	}
	return 0, false
}

// Lister pages through live products in id order (the store does).
type Lister interface {
	ProductsAfter(ctx context.Context, after string, limit int) ([]catalog.Product, error)
}

// Products lists every live product, in id order.
func Products(ctx context.Context, l Lister) ([]catalog.Product, error) {
	const page = 1000
	var out []catalog.Product
	after := ""
	for {
		ps, err := l.ProductsAfter(ctx, after, page)
		if err != nil {
			return nil, err
		}
		out = append(out, ps...)
		if len(ps) < page {
			return out, nil
		}
		after = ps[len(ps)-1].ID
	}
}
