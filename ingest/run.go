package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/indexer"
	"github.com/vitrinehq/vitrine/records"
)

// ProductWriter stores products.
type ProductWriter interface {
	UpsertProducts(ctx context.Context, ps []catalog.Product) ([]records.UpsertResult, error)
}

// Indexer brings products' vectors up to date (package indexer).
type Indexer interface {
	Index(ctx context.Context, space records.Space, products []catalog.Product) ([]indexer.Result, indexer.Stats, error)
}

// Enqueuer hands products to background workers instead of encoding here.
type Enqueuer func(ctx context.Context, space int, ids []string) (int, error)

// Options configure a run.
type Options struct {
	Space     records.Space
	Writer    ProductWriter
	Indexer   Indexer  // used unless Enqueue is set
	Enqueue   Enqueuer // queue encoding for workers (`ingest --enqueue`)
	BatchSize int      // rows per database round and model batch (default 64)
	// Rejects receives one JSON line per rejected row: {"line","id","reason"}.
	Rejects io.Writer
	// Progress is called after each batch with the rows seen so far.
	Progress func(rows int)
	Logger   *slog.Logger
}

// Summary is what a run did.
type Summary struct {
	Rows      int            `json:"rows"`
	Inserted  int            `json:"inserted"`
	Updated   int            `json:"updated"`
	Unchanged int            `json:"unchanged"`
	Indexed   int            `json:"indexed"`
	UpToDate  int            `json:"up_to_date"`
	Enqueued  int            `json:"enqueued"`
	Rejected  int            `json:"rejected"`
	Warnings  int            `json:"warnings"` // rows stored without some media (listed as partial rejects)
	Encoded   map[string]int `json:"encoded"`
}

// Run streams rows from r into the store and the vector space. Bad rows
// (parse, validation, storage or encoding failures) are written to
// o.Rejects and counted; the others land. It stops early only when the
// database or a model fails as a whole, or ctx ends; what it wrote so far
// stays, and running it again resumes (idempotent by id and content hash).
func Run(ctx context.Context, r Reader, o Options) (Summary, error) {
	if o.BatchSize <= 0 {
		o.BatchSize = 64
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	sum := Summary{Encoded: map[string]int{}}
	rej := &rejectLog{w: o.Rejects}
	batch := make([]Row, 0, o.BatchSize)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := runBatch(ctx, batch, o, &sum, rej)
		batch = batch[:0]
		if o.Progress != nil {
			o.Progress(sum.Rows)
		}
		return err
	}
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		var re *RowError
		if errors.As(err, &re) {
			sum.Rows++
			sum.Rejected++
			if err := rej.add(re); err != nil {
				return sum, err
			}
			continue
		}
		if err != nil {
			return sum, fmt.Errorf("read catalog: %w", err)
		}
		sum.Rows++
		batch = append(batch, row)
		if len(batch) == o.BatchSize {
			if err := flush(); err != nil {
				return sum, err
			}
		}
		if err := ctx.Err(); err != nil {
			return sum, err
		}
	}
	return sum, flush()
}

// runBatch stores one batch of rows and then encodes (or enqueues) the
// products that were stored.
func runBatch(ctx context.Context, rows []Row, o Options, sum *Summary, rej *rejectLog) error {
	products, lines, err := lastOfEachID(rows, sum, rej)
	if err != nil {
		return err
	}
	stored, err := storeProducts(ctx, o.Writer, products, lines, sum, rej)
	if err != nil || len(stored) == 0 {
		return err
	}
	if o.Enqueue != nil {
		ids := make([]string, len(stored))
		for i, p := range stored {
			ids[i] = p.ID
		}
		n, err := o.Enqueue(ctx, o.Space.Version, ids)
		sum.Enqueued += n
		return err
	}
	return indexStored(ctx, o, stored, lines, sum, rej)
}

// lastOfEachID keeps the last row of each id (a catalog may repeat one; the
// last row wins, as it would across runs), rejecting the earlier ones, and
// returns the products with the catalog line of each id.
func lastOfEachID(rows []Row, sum *Summary, rej *rejectLog) ([]catalog.Product, map[string]int, error) {
	last := make(map[string]int, len(rows))
	for i, r := range rows {
		if j, dup := last[r.Product.ID]; dup {
			if err := rej.add(&RowError{Line: rows[j].Line, ID: r.Product.ID, Reason: fmt.Sprintf("superseded by line %d with the same id", r.Line)}); err != nil {
				return nil, nil, err
			}
			sum.Rejected++
		}
		last[r.Product.ID] = i
	}
	products := make([]catalog.Product, 0, len(last))
	lines := make(map[string]int, len(last))
	for i, r := range rows {
		if last[r.Product.ID] == i {
			products = append(products, r.Product)
			lines[r.Product.ID] = r.Line
		}
	}
	return products, lines, nil
}

// storeProducts upserts products and returns those stored (inserted, updated or
// unchanged); the rows the store refused are rejected.
func storeProducts(ctx context.Context, w ProductWriter, products []catalog.Product, lines map[string]int, sum *Summary, rej *rejectLog) ([]catalog.Product, error) {
	res, err := w.UpsertProducts(ctx, products)
	if err != nil {
		return nil, fmt.Errorf("store products: %w", err)
	}
	stored := products[:0:0]
	for i, r := range res {
		switch r.Status {
		case records.Inserted:
			sum.Inserted++
		case records.Updated:
			sum.Updated++
		case records.Unchanged:
			sum.Unchanged++
		default:
			sum.Rejected++
			if err := rej.add(&RowError{Line: lines[r.ID], ID: r.ID, Reason: r.Err.Error()}); err != nil {
				return nil, err
			}
			continue
		}
		stored = append(stored, products[i])
	}
	return stored, nil
}

// indexStored encodes the stored products into the space and counts the
// outcomes; rejected products and those stored without some media are
// written to the reject log.
func indexStored(ctx context.Context, o Options, stored []catalog.Product, lines map[string]int, sum *Summary, rej *rejectLog) error {
	results, stats, err := o.Indexer.Index(ctx, o.Space, stored)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	for m, n := range stats.Encoded {
		sum.Encoded[m] += n
	}
	for _, r := range results {
		switch r.Outcome {
		case indexer.Indexed:
			sum.Indexed++
		case indexer.UpToDate:
			sum.UpToDate++
		case indexer.Rejected:
			sum.Rejected++
			if err := rej.add(&RowError{Line: lines[r.ProductID], ID: r.ProductID, Reason: r.Err.Error()}); err != nil {
				return err
			}
			continue
		}
		if len(r.Warnings) > 0 {
			sum.Warnings++
			reason := strings.Join(r.Warnings, "; ") + " (stored without this media)"
			if err := rej.add(&RowError{Line: lines[r.ProductID], ID: r.ProductID, Reason: reason, Partial: true}); err != nil {
				return err
			}
		}
	}
	return nil
}

// rejectLog writes rejects as JSON Lines.
type rejectLog struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *rejectLog) add(e *RowError) error {
	if l.w == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b, _ := json.Marshal(e) // plain struct; cannot fail
	if _, err := l.w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write reject file: %w", err)
	}
	return nil
}
