// Package bleveengine is Bleve (github.com/blevesearch/bleve/v2) built
// from the products as a lexical engine, and exists only as the
// comparison engine of `vitrine bench search`: issue 14 asked for the
// library to be measured beside the in-memory index (package lexical) and
// PostgreSQL ts_rank_cd in the same run before choosing.
//
// It is not the served engine because Bleve scores every document that
// matches a query (BM25 since v2.5, no dynamic pruning) and counts facets
// through its collector, so a frequent word costs time in proportion to
// its matches; the in-memory index scores only the blocks that can enter
// the top k (lexical's package documentation has the figures of both,
// measured with this package). It also has no decompounding against the
// catalog's vocabulary, and it would keep a second copy of the catalog on
// disk that every API process must keep in sync.
//
// The index is a scorch index in a temporary directory (its segments are
// files the operating system maps into memory, so the heap holds only a
// part of it), removed by Close. Products are indexed in batches of 1,000
// (WithBatchSize); title, brand, category path, attribute values and
// description are text fields with Bleve's English analyzer, scored with
// BM25 and weighed at query time with the index's BM25F field weights.
package bleveengine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/lexical"
	"github.com/vitrinehq/vitrine/records"
)

// ErrUnsupported is wrapped by searches that ask for what this engine
// does not do: filters and facets (the benchmark measures neither on it).
var ErrUnsupported = errors.New("not supported by the bleve comparison engine")

// Source is where the products come from (*store.Store is one): the live
// products in id order, a page at a time, as the in-memory index's
// snapshot reads them.
type Source interface {
	ProductsAfter(ctx context.Context, after string, limit int) ([]catalog.Product, error)
}

// field is one indexed text field and its query-time boost.
type field struct {
	name   string
	weight float64
}

// fields are the searched fields with the in-memory index's default BM25F
// weights (lexical: title 3, brand 1.5, category 2, attributes 1,
// description 1).
func fields() []field {
	return []field{{"title", 3}, {"brand", 1.5}, {"category", 2}, {"attributes", 1}, {"description", 1}}
}

// config is what the options set.
type config struct {
	parent      string // where the temporary index directory is made ("" the system's)
	batch, page int
}

// Option configures Build.
type Option func(*config)

// WithTempDir makes the index directory under parent instead of the
// system's temporary directory.
func WithTempDir(parent string) Option { return func(c *config) { c.parent = parent } }

// WithBatchSize sets how many products one Bleve batch indexes (default
// 1,000).
func WithBatchSize(n int) Option { return func(c *config) { c.batch = n } }

// WithPageSize sets how many products one read from the Source returns
// (default 5,000, as the in-memory index's snapshot).
func WithPageSize(n int) Option { return func(c *config) { c.page = n } }

// Engine is a built Bleve index of the products, searched as a lexical
// engine (serving's Text port, without filters or facets). Safe for
// concurrent searches.
type Engine struct {
	idx    bleve.Index
	dir    string
	fields []field
}

// Build indexes every product of src into a new scorch index in a
// temporary directory, then waits until scorch's background merging and
// persisting have caught up with the last batch, so the index is in its
// steady state (and costs no CPU in the background) when Build returns.
// Close removes it.
func Build(ctx context.Context, src Source, opts ...Option) (*Engine, error) {
	c := config{batch: 1000, page: 5000}
	for _, o := range opts {
		o(&c)
	}
	if c.batch <= 0 || c.page <= 0 {
		return nil, fmt.Errorf("bleve: batch size %d and page size %d must be positive", c.batch, c.page)
	}
	dir, err := os.MkdirTemp(c.parent, "vitrine-bleve-*")
	if err != nil {
		return nil, fmt.Errorf("bleve index directory: %w", err)
	}
	idx, err := bleve.New(filepath.Join(dir, "index"), newMapping())
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("bleve index: %w", err)
	}
	e := &Engine{idx: idx, dir: dir, fields: fields()}
	if err := e.load(ctx, src, c); err != nil {
		return nil, errors.Join(err, e.Close())
	}
	if err := e.settle(ctx); err != nil {
		return nil, errors.Join(err, e.Close())
	}
	return e, nil
}

// settlePoll is how often settle reads scorch's statistics.
const settlePoll = 50 * time.Millisecond

// settle waits until scorch reports its background merger and persister
// idle (every epoch introduced merged and persisted) twice in a row.
func (e *Engine) settle(ctx context.Context) error {
	adv, err := e.idx.Advanced()
	if err != nil {
		return fmt.Errorf("bleve build: %w", err)
	}
	st, ok := adv.(interface{ StatsMap() map[string]any })
	if !ok {
		return nil // not scorch: nothing runs in the background
	}
	t := time.NewTicker(settlePoll)
	defer t.Stop()
	for idle := 0; idle < 2; {
		if active, _ := st.StatsMap()["index_bgthreads_active"].(bool); active {
			idle = 0
		} else {
			idle++
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("bleve build: waiting for merges: %w", ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// newMapping maps the product fields as English text, indexed only (no
// stored values, term vectors or doc values), with nothing dynamic and
// BM25 scoring.
func newMapping() *mapping.IndexMappingImpl {
	im := bleve.NewIndexMapping()
	im.DefaultAnalyzer = en.AnalyzerName
	im.ScoringModel = index.BM25Scoring
	im.IndexDynamic, im.StoreDynamic, im.DocValuesDynamic = false, false, false
	dm := bleve.NewDocumentStaticMapping()
	for _, f := range fields() {
		fm := bleve.NewTextFieldMapping()
		fm.Analyzer = en.AnalyzerName
		fm.Store, fm.IncludeTermVectors, fm.IncludeInAll, fm.DocValues = false, false, false, false
		dm.AddFieldMappingsAt(f.name, fm)
	}
	im.DefaultMapping = dm
	return im
}

// load reads the products a page at a time, the next page while the last
// is indexed (lexical.ReadPages, as the in-memory index's snapshot does),
// and indexes them in batches.
func (e *Engine) load(ctx context.Context, src Source, c config) error {
	b := e.idx.NewBatch()
	err := lexical.ReadPages(ctx, src, c.page, func(ps []catalog.Product) error {
		for _, p := range ps {
			if err := b.Index(p.ID, document(p)); err != nil {
				return fmt.Errorf("product %s: %w", p.ID, err)
			}
			if b.Size() >= c.batch {
				if err := e.flush(b); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err == nil {
		err = e.flush(b)
	}
	if err != nil {
		return fmt.Errorf("bleve build: %w", err)
	}
	return nil
}

// flush indexes the batch (scorch returns once it is persisted) and
// empties it.
func (e *Engine) flush(b *bleve.Batch) error {
	if b.Size() == 0 {
		return nil
	}
	if err := e.idx.Batch(b); err != nil {
		return fmt.Errorf("batch: %w", err)
	}
	b.Reset()
	return nil
}

// document is what Bleve indexes of a product: the searched fields'
// text, as the in-memory index reads them.
func document(p catalog.Product) map[string]any {
	return map[string]any{"title": p.Title, "brand": p.Brand, "category": strings.Join(p.Category, " "),
		"attributes": lexical.AttributeText(p.Attributes), "description": p.Description}
}

// SearchText returns the best q.K products holding every word of q.Text
// (as the English analyzer reads it: lower-cased, stemmed, stop words
// dropped), each word in any field, scored by BM25 per field times the
// field's weight, summed; and the match total (Bleve scores every match,
// so it is also what was scored). A query with no words left matches
// nothing. Filters and facets wrap ErrUnsupported; InTitle is not set.
func (e *Engine) SearchText(ctx context.Context, q records.TextQuery) (records.TextMatches, error) {
	if !q.Filter.Empty() || q.Facets {
		return records.TextMatches{}, fmt.Errorf("bleve search: filter or facets: %w", ErrUnsupported)
	}
	terms := e.terms(q.Text)
	if len(terms) == 0 || q.K <= 0 {
		return records.TextMatches{}, nil
	}
	words := make([]query.Query, len(terms))
	for i, t := range terms {
		anyField := make([]query.Query, len(e.fields))
		for j, f := range e.fields {
			tq := query.NewTermQuery(t)
			tq.SetField(f.name)
			tq.SetBoost(f.weight)
			anyField[j] = tq
		}
		words[i] = query.NewDisjunctionQuery(anyField)
	}
	res, err := e.idx.SearchInContext(ctx, bleve.NewSearchRequestOptions(query.NewConjunctionQuery(words), q.K, 0, false))
	if err != nil {
		return records.TextMatches{}, fmt.Errorf("bleve search %q: %w", q.Text, err)
	}
	out := records.TextMatches{Total: int(res.Total), Hits: make([]records.TextHit, len(res.Hits))}
	for i, h := range res.Hits {
		out.Hits[i] = records.TextHit{ProductID: h.ID, Score: h.Score}
	}
	return out, nil
}

// terms are the distinct terms of text as the fields' analyzer makes
// them, in order.
func (e *Engine) terms(text string) []string {
	var out []string
	seen := map[string]bool{}
	for _, tok := range e.idx.Mapping().AnalyzerNamed(en.AnalyzerName).Analyze([]byte(text)) {
		if t := string(tok.Term); t != "" && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// Len returns the number of indexed products.
func (e *Engine) Len() (int, error) {
	n, err := e.idx.DocCount()
	return int(n), err
}

// DiskBytes is the size of the index directory's files.
func (e *Engine) DiskBytes() (int64, error) {
	var n int64
	err := filepath.WalkDir(e.dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		n += info.Size()
		return nil
	})
	return n, err
}

// Close closes the index and removes its directory.
func (e *Engine) Close() error {
	return errors.Join(e.idx.Close(), os.RemoveAll(e.dir))
}
