package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
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

// DefaultConcurrency is how many batches a run keeps in flight when
// Options.Concurrency is not set: one batch's database work overlaps the
// next ones' encoding. 3 kept 0.89-0.90 of the models' speed for 2,000
// text+image products on an idle two-core machine against 0.84-0.87 at 2
// (runs alternated; BENCHMARKS.md).
const DefaultConcurrency = 3

// Options configure a run.
type Options struct {
	Space     records.Space
	Writer    ProductWriter
	Indexer   Indexer  // used unless Enqueue is set
	Enqueue   Enqueuer // queue encoding for workers (`ingest --enqueue`)
	BatchSize int      // rows per database round and model batch (default 64)
	// Concurrency is how many batches are in flight at once (default
	// DefaultConcurrency, 3; 1 runs them one after another). At 2, while
	// one batch's embeddings and vectors are written (and the indexes take
	// them), the next is encoded, and the one after is read, parsed and
	// upserted: 0.64-0.82 of the models' own speed for text+image products
	// against 0.40-0.61 one at a time, run after run on a loaded two-core
	// machine (BENCHMARKS.md). The batches in flight never share a
	// product id, and the writer must take concurrent batches without
	// deadlocking them (the store inserts shared rows such as suggestion
	// terms in one sorted order, and runs a transaction that PostgreSQL
	// still ends with a deadlock again).
	Concurrency int
	// Rejects receives one JSON line per rejected row: {"line","id","reason"}.
	Rejects io.Writer
	// Progress is called after each batch with the rows seen so far.
	Progress func(rows int)
	Logger   *slog.Logger
	// DeferIndexes builds the HNSW indexes after the load instead of
	// during it when the catalog is small (see IndexDeferral); its zero
	// value keeps them live.
	DeferIndexes IndexDeferral
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

// add counts o into sum.
func (sum *Summary) add(o Summary) {
	sum.Rows += o.Rows
	sum.Inserted += o.Inserted
	sum.Updated += o.Updated
	sum.Unchanged += o.Unchanged
	sum.Indexed += o.Indexed
	sum.UpToDate += o.UpToDate
	sum.Enqueued += o.Enqueued
	sum.Rejected += o.Rejected
	sum.Warnings += o.Warnings
	for m, n := range o.Encoded {
		sum.Encoded[m] += n
	}
}

// Run streams rows from r into the store and the vector space. Bad rows
// (parse, validation, storage or encoding failures) are written to
// o.Rejects and counted; the others land. It stops early only when the
// database or a model fails as a whole, or ctx ends; what it wrote so far
// stays, and running it again resumes (idempotent by id and content hash).
//
// Batches go through a pipeline o.Concurrency deep, so the database work
// of one batch (upserts, embeddings, fused vectors and the HNSW indexes
// taking them) overlaps the encoding of another. Within a batch the
// products are upserted before they are encoded, so a crash leaves at
// worst stored products without vectors, which the next run encodes. Two
// batches in flight never share a product id, so the last row of an id
// wins as it does run after run. Rejects, counts and Progress follow the
// catalog's order whatever order batches finish in.
//
// With o.DeferIndexes and a small catalog, the HNSW indexes are dropped
// before the first batch and built once after the last, also when the run
// ends with rejected rows, a failure or ctx's end (IndexDeferral).
func Run(ctx context.Context, r Reader, o Options) (Summary, error) {
	if o.BatchSize <= 0 {
		o.BatchSize = 64
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	p := newPipeline(o)
	err := withDeferredIndexes(ctx, o, func() error {
		err := p.feed(ctx, r)
		if werr := p.wait(); err == nil {
			err = werr
		}
		return err
	})
	return p.sum, err
}

// batch is one batch of rows and what became of it, kept apart until it
// is merged into the run's summary in catalog order.
type batch struct {
	rows    []Row
	rejects []*RowError // in catalog order: parse, duplicate, store, encode
	sum     Summary
	err     error
}

func newBatch(size int) *batch {
	return &batch{rows: make([]Row, 0, size), sum: Summary{Encoded: map[string]int{}}}
}

// reject records a bad row of the batch.
func (b *batch) reject(e *RowError) {
	b.sum.Rejected++
	b.rejects = append(b.rejects, e)
}

// pipeline runs batches concurrently and merges them in order.
type pipeline struct {
	o     Options
	rej   *rejectLog
	slots chan struct{} // one per batch in flight
	wg    sync.WaitGroup

	mu   sync.Mutex
	idle *sync.Cond // signalled when a batch leaves the pipeline
	busy map[string]bool
	sum  Summary
	err  error
	// merged is closed when the last batch handed out has been merged.
	merged chan struct{}
}

func newPipeline(o Options) *pipeline {
	p := &pipeline{o: o, rej: &rejectLog{w: o.Rejects}, slots: make(chan struct{}, o.Concurrency),
		busy: map[string]bool{}, sum: Summary{Encoded: map[string]int{}}, merged: make(chan struct{})}
	p.idle = sync.NewCond(&p.mu)
	close(p.merged)
	return p
}

// feed reads r into batches and hands each to the pipeline; it returns
// when r ends, ctx ends, reading fails or a batch failed.
func (p *pipeline) feed(ctx context.Context, r Reader) error {
	b := newBatch(p.o.BatchSize)
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		var re *RowError
		switch {
		case errors.As(err, &re):
			b.sum.Rows++
			b.reject(re)
			continue
		case err != nil:
			return fmt.Errorf("read catalog: %w", err)
		}
		b.sum.Rows++
		b.rows = append(b.rows, row)
		if len(b.rows) == p.o.BatchSize {
			if err := p.submit(ctx, b); err != nil {
				return err
			}
			b = newBatch(p.o.BatchSize)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	if b.sum.Rows == 0 {
		return nil
	}
	return p.submit(ctx, b)
}

// submit keeps the last row of each id, waits for a free slot and for the
// batches in flight to hold none of its ids, upserts its products and
// starts encoding them. It returns a failure of an earlier batch, or of
// ctx, instead of starting b.
func (p *pipeline) submit(ctx context.Context, b *batch) error {
	products, lines := lastOfEachID(b)
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	ids, err := p.claim(products)
	if err != nil {
		<-p.slots
		return err
	}
	prev, done := p.merged, make(chan struct{})
	p.merged = done
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer func() { <-p.slots }()
		if b.err == nil {
			b.err = p.process(ctx, b, products, lines)
		}
		<-prev
		p.merge(b, ids)
		close(done)
	}()
	return nil
}

// claim waits until no batch in flight holds any of products' ids and
// marks them held; it returns the run's failure instead when there is one.
func (p *pipeline) claim(products []catalog.Product) ([]string, error) {
	ids := make([]string, len(products))
	for i, pr := range products {
		ids[i] = pr.ID
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.err == nil && slices.ContainsFunc(ids, func(id string) bool { return p.busy[id] }) {
		p.idle.Wait()
	}
	if p.err != nil {
		return nil, p.err
	}
	for _, id := range ids {
		p.busy[id] = true
	}
	return ids, nil
}

// process stores one batch's products and then encodes (or enqueues) the
// products that were stored, counting into b.
func (p *pipeline) process(ctx context.Context, b *batch, products []catalog.Product, lines map[string]int) error {
	if len(products) == 0 {
		return nil
	}
	stored, err := storeProducts(ctx, p.o.Writer, products, lines, b)
	if err != nil || len(stored) == 0 {
		return err
	}
	if p.o.Enqueue != nil {
		ids := make([]string, len(stored))
		for i, pr := range stored {
			ids[i] = pr.ID
		}
		n, err := p.o.Enqueue(ctx, p.o.Space.Version, ids)
		b.sum.Enqueued += n
		return err
	}
	return indexStored(ctx, p.o, stored, lines, b)
}

// merge adds a finished batch to the run: its counts, its rejects, its
// failure (the first one in catalog order is the run's), and reports
// progress; then it frees the batch's ids.
func (p *pipeline) merge(b *batch, ids []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sum.add(b.sum)
	for _, e := range b.rejects {
		if err := p.rej.add(e); err != nil && b.err == nil {
			b.err = err
		}
	}
	if b.err != nil && p.err == nil {
		p.err = b.err
	}
	for _, id := range ids {
		delete(p.busy, id)
	}
	p.idle.Broadcast()
	if p.o.Progress != nil {
		p.o.Progress(p.sum.Rows)
	}
}

// wait lets the batches in flight finish and returns the run's failure.
func (p *pipeline) wait() error {
	p.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// lastOfEachID keeps the last row of each id (a catalog may repeat one; the
// last row wins, as it would across runs), rejecting the earlier ones, and
// returns the products with the catalog line of each id.
func lastOfEachID(b *batch) ([]catalog.Product, map[string]int) {
	last := make(map[string]int, len(b.rows))
	for i, r := range b.rows {
		if j, dup := last[r.Product.ID]; dup {
			b.reject(&RowError{Line: b.rows[j].Line, ID: r.Product.ID, Reason: fmt.Sprintf("superseded by line %d with the same id", r.Line)})
		}
		last[r.Product.ID] = i
	}
	products := make([]catalog.Product, 0, len(last))
	lines := make(map[string]int, len(last))
	for i, r := range b.rows {
		if last[r.Product.ID] == i {
			products = append(products, r.Product)
			lines[r.Product.ID] = r.Line
		}
	}
	return products, lines
}

// storeProducts upserts products and returns those stored (inserted, updated or
// unchanged); the rows the store refused are rejected.
func storeProducts(ctx context.Context, w ProductWriter, products []catalog.Product, lines map[string]int, b *batch) ([]catalog.Product, error) {
	res, err := w.UpsertProducts(ctx, products)
	if err != nil {
		return nil, fmt.Errorf("store products: %w", err)
	}
	stored := products[:0:0]
	for i, r := range res {
		switch r.Status {
		case records.Inserted:
			b.sum.Inserted++
		case records.Updated:
			b.sum.Updated++
		case records.Unchanged:
			b.sum.Unchanged++
		default:
			b.reject(&RowError{Line: lines[r.ID], ID: r.ID, Reason: r.Err.Error()})
			continue
		}
		stored = append(stored, products[i])
	}
	return stored, nil
}

// indexStored encodes the stored products into the space and counts the
// outcomes; rejected products and those stored without some media are
// rejected (the latter as partial).
func indexStored(ctx context.Context, o Options, stored []catalog.Product, lines map[string]int, b *batch) error {
	results, stats, err := o.Indexer.Index(ctx, o.Space, stored)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	for m, n := range stats.Encoded {
		b.sum.Encoded[m] += n
	}
	for _, r := range results {
		switch r.Outcome {
		case indexer.Indexed:
			b.sum.Indexed++
		case indexer.UpToDate:
			b.sum.UpToDate++
		case indexer.Rejected:
			b.reject(&RowError{Line: lines[r.ProductID], ID: r.ProductID, Reason: r.Err.Error()})
			continue
		}
		if len(r.Warnings) > 0 {
			b.sum.Warnings++
			reason := strings.Join(r.Warnings, "; ") + " (stored without this media)"
			b.rejects = append(b.rejects, &RowError{Line: lines[r.ProductID], ID: r.ProductID, Reason: reason, Partial: true})
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
