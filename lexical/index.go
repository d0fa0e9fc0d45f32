package lexical

import (
	"encoding/json"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/lexical/analysis"
)

// Field is one searchable part of a product.
type Field int

// The fields BM25F scores, each with its own weight.
const (
	Title Field = iota
	Brand
	Category
	Attributes
	Description
	numFields
)

// blockSize is the number of postings one block-max entry covers.
const blockSize = 128

// Index is an in-memory inverted index of live products, safe for
// concurrent searches and writes (one writer at a time excludes readers
// for the microseconds a product takes).
//
// Removing a product (a delete, or a write that replaces it) only marks
// its slot dead: its postings stay, skipped by searches, so a removal
// costs the product's terms, not the length of their postings. Compact
// reclaims the dead slots and postings once they pass a share of the
// index (WithCompaction).
type Index struct {
	// wmu serialises writers (Put, Delete, Reweigh, Compact), so Compact
	// can build the compacted index under mu's read lock, with searches
	// going on, and take the write lock only to swap it in.
	wmu   sync.Mutex
	mu    sync.RWMutex
	cfg   config
	terms map[string]uint32
	post  []*posting // by term id
	// surface is, by term id, the first word the term came from (for
	// suggestions); fields the fields it was ever seen in (bit 1<<Field).
	surface []string
	fields  []uint8
	docs    []doc // by doc id; a deleted or replaced product leaves a dead slot
	// cols holds, by doc id, what counting a match reads (liveness and the
	// facet values) in 12 bytes instead of a doc's cache lines: the total
	// and facets visit every match, so they read only these.
	cols []col
	// prices holds each doc's price (NaN: none) by doc id, for price
	// filters, which read it for every match.
	prices []float64
	// bits recycles the per-query bitsets any-word queries mark their
	// matches in.
	bits sync.Pool
	dead int // dead slots in docs (their postings not yet compacted)
	ids  map[string]uint32
	// brands and cats intern brand names and category path elements, for
	// filters and facets.
	brands, cats map[string]uint32
	brandNames   []string
	catNames     []string
	// lenSum is the total length of each field over live documents, for
	// BM25's length normalisation.
	lenSum [numFields]float64
	live   int
	dict   dictionary
	// compacting, when set (by tests), runs after Compact built the
	// compacted index, still under the read lock.
	compacting func()
}

type posting struct {
	live     int                // postings of live docs (the df); the others are dead slots
	docs     []uint32           // ascending doc ids, dead slots included until Compact
	w        []float32          // BM25F term weight of each doc, before idf
	tf       [][numFields]uint8 // per-field term frequency (capped at 255), to reweigh
	blockMax []float32          // the largest w of each blockSize postings (an upper bound while dead slots remain)
}

type doc struct {
	id    string
	live  bool
	terms []uint32 // distinct term ids, for removal
	title []uint32 // title term ids in order, for phrase and title bonuses
	lens  [numFields]uint16
	price float64 // NaN: none
	brand int32   // -1: none
	cats  []uint32
	attrs map[string]any
}

// col is the part of a doc every counted match reads.
type col struct {
	cat0  uint32 // first category path element; noCategory: none
	brand int32  // -1: none
	band  uint8  // price band (priceBands)
	live  bool
}

const noCategory = math.MaxUint32

func colOf(d *doc) col {
	c := col{cat0: noCategory, brand: d.brand, band: uint8(priceBand(d.price)), live: d.live}
	if len(d.cats) > 0 {
		c.cat0 = d.cats[0]
	}
	return c
}

type config struct {
	analyzer *analysis.Analyzer
	weight   [numFields]float64
	k1, b    float64
	phrase   float64 // score factor for the query as a title phrase
	inTitle  float64 // score factor for every query word in the title
	match    Match   // MatchAll: all words, any word as a fallback; MatchAny: always any word
	rules    []string
	synonyms map[string][][]string // a term or phrase (terms joined by a space): the term sequences a query for it also finds
	longest  int                   // the most terms a synonym's left side has
	compact  float64               // the dead share of doc slots that makes Compact reclaim them
}

// Option configures an Index.
type Option func(*config)

// WithAnalyzer sets the text analysis (default: English).
func WithAnalyzer(a *analysis.Analyzer) Option { return func(c *config) { c.analyzer = a } }

// WithFieldWeight sets one field's BM25F weight.
func WithFieldWeight(f Field, w float64) Option {
	return func(c *config) {
		if f >= 0 && f < numFields {
			c.weight[f] = w
		}
	}
}

// WithBM25 sets BM25's term-frequency saturation k1 and length
// normalisation b.
func WithBM25(k1, b float64) Option { return func(c *config) { c.k1, c.b = k1, b } }

// WithTitleBonus sets the score factors of a product whose title holds the
// query as a phrase (default 1.5) or holds every query word (default 1.25).
func WithTitleBonus(phrase, allWords float64) Option {
	return func(c *config) { c.phrase, c.inTitle = phrase, allWords }
}

// WithMatch sets which products a query matches: MatchAll (the default)
// matches those with every query word, falling back to any word when none
// has them all; MatchAny always matches any word, ranked by BM25F times
// the share of query words a product holds.
func WithMatch(m Match) Option { return func(c *config) { c.match = m } }

// WithSynonyms adds synonym rules, one per string: "eggplant => aubergine"
// is one-way (a query for eggplant also finds aubergine, not the reverse),
// "courgette, zucchini" multi-way (each finds the others). Either side may
// hold phrases: "bell pepper, capsicum" (each finds the other), "ice
// cream => glass" (the phrase, its words adjacent in the query, also
// finds glass), "pepper => bell pepper" (a product must hold both words
// to be found through the synonym). Words are analysed like the catalog
// (so "eggplants" follows the rule too). Blank rules and rules starting
// with # are skipped.
func WithSynonyms(rules ...string) Option {
	return func(c *config) { c.rules = append(c.rules, rules...) }
}

// WithCompaction sets the share of dead doc slots (deleted or replaced
// products) at which Compact reclaims them (default 0.2; in (0, 1]).
func WithCompaction(share float64) Option { return func(c *config) { c.compact = share } }

// DefaultWeights are the BM25F field weights an Index starts with.
var defaultWeights = [numFields]float64{Title: 3, Brand: 1.5, Category: 2, Attributes: 1, Description: 1}

// New returns an empty index.
func New(opts ...Option) (*Index, error) {
	c := config{weight: defaultWeights, k1: 1.2, b: 0.75, phrase: 1.5, inTitle: 1.25, match: MatchAll, compact: 0.2}
	for _, o := range opts {
		o(&c)
	}
	if c.analyzer == nil {
		a, err := analysis.New()
		if err != nil {
			return nil, err
		}
		c.analyzer = a
	}
	syn, err := parseSynonyms(c.rules, c.analyzer)
	if err != nil {
		return nil, err
	}
	c.synonyms, c.longest = syn, 1
	for k := range syn {
		c.longest = max(c.longest, len(strings.Fields(k)))
	}
	if c.k1 <= 0 || c.b < 0 || c.b > 1 || c.phrase < 1 || c.inTitle < 1 || (c.match != MatchAll && c.match != MatchAny) ||
		!(c.compact > 0 && c.compact <= 1) {
		return nil, fmt.Errorf("%w: k1 %g, b %g, title bonuses %g/%g, match %q, compaction %g", ErrConfig, c.k1, c.b, c.phrase, c.inTitle, c.match, c.compact)
	}
	return &Index{cfg: c, terms: map[string]uint32{}, ids: map[string]uint32{},
		brands: map[string]uint32{}, cats: map[string]uint32{}}, nil
}

// Len returns the number of live products.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.live
}

// analyzed is a product's terms before weighting.
type analyzed struct {
	d     doc
	tfs   map[string]*termFreq
	title []string // the title's terms in order
}

// termFreq is a term's frequency in each field of a product, and the
// first word (lower-cased, as written) it came from, titles first.
type termFreq struct {
	tf   [numFields]uint16
	word string
}

func (ix *Index) analyze(p catalog.Product) analyzed {
	a := analyzed{d: doc{id: p.ID, live: true, price: math.NaN(), brand: -1, attrs: p.Attributes}, tfs: map[string]*termFreq{}}
	if p.Price != nil {
		a.d.price = *p.Price
	}
	texts := [numFields]string{Title: p.Title, Brand: p.Brand, Category: strings.Join(p.Category, " "),
		Attributes: AttributeText(p.Attributes), Description: p.Description}
	for f, text := range texts {
		ws := analysis.Words(text)
		a.d.lens[f] = uint16(min(len(ws), math.MaxUint16))
		for _, w := range ws {
			t := ix.cfg.analyzer.Stem(w)
			if f == int(Title) {
				a.title = append(a.title, t)
			}
			tf := a.tfs[t]
			if tf == nil {
				tf = &termFreq{word: w}
				a.tfs[t] = tf
			}
			if tf.tf[f] < math.MaxUint16 {
				tf.tf[f]++
			}
		}
	}
	return a
}

// AttributeText is the searchable text of attributes: string values (and
// strings inside lists), in key order, not keys or numbers.
func AttributeText(attrs map[string]any) string {
	var parts []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			parts = append(parts, x)
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		walk(attrs[k])
	}
	return strings.Join(parts, " ")
}

// Put adds or replaces a product (by id).
func (ix *Index) Put(p catalog.Product) {
	a := ix.analyze(p)
	ix.wmu.Lock()
	defer ix.wmu.Unlock()
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.remove(p.ID)
	ix.add(a, p)
}

// PutAll adds or replaces products (by id), as Put of each in order:
// their text is analysed by GOMAXPROCS goroutines at once, then they are
// added under one lock, so a bulk load (the Syncer's snapshot) spends
// its time analysing on every core instead of taking the lock per
// product.
func (ix *Index) PutAll(ps []catalog.Product) {
	as := make([]analyzed, len(ps))
	workers := min(runtime.GOMAXPROCS(0), max(len(ps)/64, 1))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(ps); i += workers {
				as[i] = ix.analyze(ps[i])
			}
		})
	}
	wg.Wait()
	ix.wmu.Lock()
	defer ix.wmu.Unlock()
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for i, p := range ps {
		ix.remove(p.ID)
		ix.add(as[i], p)
	}
}

// Delete removes a product; an unknown id is a no-op.
func (ix *Index) Delete(id string) {
	ix.wmu.Lock()
	defer ix.wmu.Unlock()
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.remove(id)
}

func (ix *Index) intern(m map[string]uint32, names *[]string, s string) uint32 {
	if id, ok := m[s]; ok {
		return id
	}
	id := uint32(len(*names))
	m[s] = id
	*names = append(*names, s)
	return id
}

// add appends an analysed product as the newest doc id. Callers hold mu.
func (ix *Index) add(a analyzed, p catalog.Product) {
	id := uint32(len(ix.docs))
	d := a.d
	if p.Brand != "" {
		d.brand = int32(ix.intern(ix.brands, &ix.brandNames, p.Brand))
	}
	for _, c := range p.Category {
		d.cats = append(d.cats, ix.intern(ix.cats, &ix.catNames, c))
	}
	for f := range numFields {
		ix.lenSum[f] += float64(d.lens[f])
	}
	ix.live++
	avg := ix.avgLens()
	for t, tf := range a.tfs {
		tid, ok := ix.terms[t]
		if !ok {
			tid = uint32(len(ix.post))
			ix.terms[t] = tid
			ix.post = append(ix.post, &posting{})
			ix.surface = append(ix.surface, strings.Clone(tf.word))
			ix.fields = append(ix.fields, 0)
			ix.dict.added(t)
		} else if ix.post[tid].live == 0 {
			ix.dict.added(t) // left out of the dictionary's last build
		}
		d.terms = append(d.terms, tid)
		var tf8 [numFields]uint8
		for f := range numFields {
			tf8[f] = uint8(min(tf.tf[f], math.MaxUint8))
			if tf.tf[f] > 0 {
				ix.fields[tid] |= 1 << f
			}
		}
		ix.post[tid].append(id, float32(ix.weigh(&tf8, &d.lens, &avg)), tf8)
	}
	slices.Sort(d.terms)
	for _, t := range a.title {
		d.title = append(d.title, ix.terms[t])
	}
	ix.docs = append(ix.docs, d)
	ix.cols = append(ix.cols, colOf(&d))
	ix.prices = append(ix.prices, d.price)
	ix.ids[p.ID] = id
}

func (ix *Index) avgLens() [numFields]float64 {
	var avg [numFields]float64
	for f := range numFields {
		avg[f] = max(ix.lenSum[f]/float64(max(ix.live, 1)), 1)
	}
	return avg
}

// weigh is BM25F's saturated term frequency: the field-weighted,
// length-normalised frequency tf~ as tf~ / (k1 + tf~), in [0, 1).
func (ix *Index) weigh(tf *[numFields]uint8, lens *[numFields]uint16, avg *[numFields]float64) float64 {
	c := &ix.cfg
	var s float64
	for f := range numFields {
		if tf[f] == 0 {
			continue
		}
		s += c.weight[f] * float64(tf[f]) / (1 - c.b + c.b*float64(lens[f])/avg[f])
	}
	return s / (c.k1 + s)
}

// Reweigh recomputes every term weight with the current average field
// lengths. Products added one by one are weighed with the averages of the
// moment; a bulk load (or a catalog that changed a lot) calls Reweigh once
// at the end so every product is weighed alike.
//
// It also rebuilds the term dictionary, under the read lock only, so
// searches go on meanwhile.
func (ix *Index) Reweigh() {
	ix.wmu.Lock()
	defer ix.wmu.Unlock()
	ix.reweigh()
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	ix.rebuildDict()
}

// reweigh recomputes every term weight under the write lock. Callers
// hold wmu.
func (ix *Index) reweigh() {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	avg := ix.avgLens()
	for _, p := range ix.post {
		for i, id := range p.docs {
			p.w[i] = 0 // a dead slot can never score: keep it out of the bounds
			if ix.docs[id].live {
				p.w[i] = float32(ix.weigh(&p.tf[i], &ix.docs[id].lens, &avg))
			}
		}
		p.maxima(0)
	}
}

// remove marks a product's slot dead: searches skip it, its postings
// stay until Compact. Callers hold mu.
func (ix *Index) remove(pid string) {
	id, ok := ix.ids[pid]
	if !ok {
		return
	}
	delete(ix.ids, pid)
	d := &ix.docs[id]
	for _, t := range d.terms {
		ix.post[t].live--
	}
	for f := range numFields {
		ix.lenSum[f] -= float64(d.lens[f])
	}
	ix.live--
	ix.dead++
	*d = doc{id: d.id}
	ix.cols[id] = col{cat0: noCategory, brand: -1}
}

func (p *posting) append(id uint32, w float32, tf [numFields]uint8) {
	p.live++
	p.docs = append(p.docs, id)
	p.w = append(p.w, w)
	p.tf = append(p.tf, tf)
	if b := (len(p.docs) - 1) / blockSize; b == len(p.blockMax) {
		p.blockMax = append(p.blockMax, w)
	} else {
		p.blockMax[b] = max(p.blockMax[b], w)
	}
}

// maxima recomputes the block maxima from block `from` on.
func (p *posting) maxima(from int) {
	nb := (len(p.docs) + blockSize - 1) / blockSize
	p.blockMax = p.blockMax[:nb]
	for b := from; b < nb; b++ {
		m := float32(0)
		for _, w := range p.w[b*blockSize : min((b+1)*blockSize, len(p.w))] {
			m = max(m, w)
		}
		p.blockMax[b] = m
	}
}

// attrsContain reports whether doc attributes contain want, with
// PostgreSQL jsonb @> semantics for objects, arrays and scalars.
func attrsContain(have, want any) bool {
	switch w := want.(type) {
	case map[string]any:
		h, ok := have.(map[string]any)
		if !ok {
			return false
		}
		for k, wv := range w {
			hv, ok := h[k]
			if !ok || !attrsContain(hv, wv) {
				return false
			}
		}
		return true
	case []any:
		h, ok := have.([]any)
		if !ok {
			return false
		}
		for _, wv := range w {
			if !slices.ContainsFunc(h, func(hv any) bool { return attrsContain(hv, wv) }) {
				return false
			}
		}
		return true
	}
	return scalarEqual(have, want)
}

func scalarEqual(a, b any) bool {
	fa, oka := number(a)
	fb, okb := number(b)
	if oka || okb {
		return oka && okb && fa == fb
	}
	return a == b
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}
