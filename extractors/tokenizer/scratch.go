package tokenizer

import (
	"sync"
	"unsafe"
)

// scratch holds the buffers one encoding call works in, so that encoding a
// batch allocates nothing per token or per word once the buffers have
// grown: a Tokenizer keeps them in a sync.Pool, and each call takes one and
// gives it back.
type scratch struct {
	raw, subs []segment // added-token splits of the raw and normalised text
	words     []string  // pre-tokenized words of one segment
	content   []int64   // model ids of one text (or of pair member A)
	contentB  []int64   // model ids of pair member B
	norm      normBufs  // normalised text, for bufferedNormalizer
	ids       []int64   // every row's ids and type ids, back to back
	types     []int64
	ends      []int // ends[i] is row i's end in ids
}

// reset empties s for a new call, keeping its buffers.
func (s *scratch) reset() {
	s.ids, s.types, s.ends = s.ids[:0], s.types[:0], s.ends[:0]
}

// scratchPool hands out scratch buffers; a pointer, so a Tokenizer can be
// passed around by value in tests without copying a sync.Pool.
type scratchPool struct{ p sync.Pool }

func newScratchPool() *scratchPool {
	return &scratchPool{p: sync.Pool{New: func() any { return new(scratch) }}}
}

func (sp *scratchPool) get() *scratch { return sp.p.Get().(*scratch) }

// put returns s to the pool unless a huge input grew it past what is worth
// keeping (a 1 MB text must not pin megabytes in every pooled buffer).
func (sp *scratchPool) put(s *scratch) {
	const keep = 1 << 16
	if cap(s.ids) > keep || cap(s.norm.a) > 4*keep || cap(s.norm.b) > 4*keep || cap(s.content) > keep {
		return
	}
	sp.p.Put(s)
}

// normBufs are the buffers a bufferedNormalizer writes into, two so that
// one step can read the other's output.
type normBufs struct{ a, b []byte }

// bufferedNormalizer is a normalizer that can write into reusable buffers.
// The string it returns aliases them: it is valid only until they are
// written again, and nothing may keep it (the BPE cache clones its keys).
type bufferedNormalizer interface {
	normalizeInto(bufs *normBufs, s string) string
}

// scratchString views b as a string without copying, for short-lived
// strings in scratch buffers (see bufferedNormalizer).
func scratchString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}
