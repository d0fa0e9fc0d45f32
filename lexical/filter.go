package lexical

import (
	"math"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/records"
)

// filter is a catalog.Filter compiled against the index's interned names,
// checked per matching doc inside the traversal.
type filter struct {
	none       bool // a named category or brand the index has never seen
	any        bool // no condition beyond a live product
	cats       []uint32
	brands     []bool // by brand id; nil: any brand
	priced     bool   // a price bound is set
	minP, maxP float64
	attrs      map[string]any
	exclude    map[uint32]bool
}

func (ix *Index) compile(f catalog.Filter) filter {
	out := filter{minP: math.Inf(-1), maxP: math.Inf(1), attrs: f.Attributes}
	for _, c := range f.Category {
		id, ok := ix.cats[c]
		if !ok {
			out.none = true
		}
		out.cats = append(out.cats, id)
	}
	if len(f.Brands) > 0 {
		out.brands = make([]bool, len(ix.brandNames))
		known := false
		for _, b := range f.Brands {
			if id, ok := ix.brands[b]; ok {
				out.brands[id], known = true, true
			}
		}
		out.none = out.none || !known
	}
	if f.MinPrice != nil {
		out.minP = *f.MinPrice
	}
	if f.MaxPrice != nil {
		out.maxP = *f.MaxPrice
	}
	if len(f.Exclude) > 0 {
		out.exclude = map[uint32]bool{}
		for _, id := range f.Exclude {
			if d, ok := ix.ids[id]; ok {
				out.exclude[d] = true
			}
		}
	}
	out.priced = !math.IsInf(out.minP, -1) || !math.IsInf(out.maxP, 1)
	out.any = len(out.cats) == 0 && out.brands == nil && !out.priced && len(out.attrs) == 0 && len(out.exclude) == 0
	return out
}

// ok reports whether a doc is live and passes the filter (with SQL's
// semantics: a product without a price fails any price bound).
func (f *filter) ok(ix *Index, id uint32) bool {
	c := &ix.cols[id]
	if !c.live {
		return false
	}
	if f.any {
		return true
	}
	if f.brands != nil && (c.brand < 0 || !f.brands[c.brand]) {
		return false
	}
	if len(f.cats) > 0 && c.cat0 != f.cats[0] {
		return false
	}
	if f.priced {
		if p := ix.prices[id]; !(p >= f.minP && p <= f.maxP) {
			return false
		}
	}
	if len(f.cats) > 1 {
		d := &ix.docs[id]
		if len(f.cats) > len(d.cats) {
			return false
		}
		for i, c := range f.cats[1:] {
			if d.cats[i+1] != c {
				return false
			}
		}
	}
	if f.exclude[id] {
		return false
	}
	for k, v := range f.attrs {
		hv, ok := ix.docs[id].attrs[k]
		if !ok || !attrsContain(hv, v) {
			return false
		}
	}
	return true
}

// priceBands are the facet's price buckets (upper bounds, exclusive), as
// the store has always counted them.
var priceBands = [...]struct {
	name  string
	below float64
}{{"0-10", 10}, {"10-25", 25}, {"25-50", 50}, {"50-100", 100}, {"100+", math.Inf(1)}, {"unknown", math.NaN()}}

func priceBand(p float64) int {
	if math.IsNaN(p) {
		return len(priceBands) - 1
	}
	for i, b := range priceBands[:len(priceBands)-1] {
		if p < b.below {
			return i
		}
	}
	return len(priceBands) - 2
}

// count adds a match to the total and, when asked, the facets.
func (s *search) count(id uint32) {
	s.total++
	if s.catN != nil {
		s.tally(&s.ix.cols[id])
	}
}

// tally adds a match's columns to the facet counts.
func (s *search) tally(c *col) {
	if c.cat0 != noCategory {
		s.catN[c.cat0]++
	}
	if c.brand >= 0 {
		s.brandN[c.brand]++
	}
	s.priceN[c.band]++
}

func (s *search) facets() records.Facets {
	f := records.Facets{Category: map[string]int{}, Brand: map[string]int{}, Price: map[string]int{}}
	for i, n := range s.catN {
		if n > 0 && s.ix.catNames[i] != "" {
			f.Category[s.ix.catNames[i]] = int(n)
		}
	}
	for i, n := range s.brandN {
		if n > 0 {
			f.Brand[s.ix.brandNames[i]] = int(n)
		}
	}
	for i, n := range s.priceN {
		if n > 0 {
			f.Price[priceBands[i].name] = int(n)
		}
	}
	return f
}

// FacetsOf counts the given live products (unknown ids are left out).
func (ix *Index) FacetsOf(ids []string) records.Facets {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	s := &search{ix: ix, catN: make([]int32, len(ix.catNames)), brandN: make([]int32, len(ix.brandNames))}
	for _, id := range ids {
		if d, ok := ix.ids[id]; ok {
			s.count(d)
		}
	}
	return s.facets()
}
