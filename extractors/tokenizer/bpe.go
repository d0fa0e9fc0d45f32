package tokenizer

import (
	"container/heap"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"
)

// bpeCacheSize bounds the per-tokenizer word cache, as tokenizers does; once
// full, new words are computed but not stored.
const bpeCacheSize = 10000

// bpe is the merge-based model used by GPT-2, RoBERTa and CLIP.
type bpe struct {
	vocabMap     map[string]int32
	merges       map[uint64]bpeMerge // (left id, right id) -> merge
	unkID        int64               // -1: no unk token, unknown chars are dropped
	prefix       string              // continuing_subword_prefix
	suffix       string              // end_of_word_suffix (CLIP: "</w>")
	fuseUnk      bool
	byteFallback bool
	ignoreMerges bool

	mu    sync.RWMutex
	cache map[string][]int64
}

type bpeMerge struct {
	rank  int32
	newID int32
}

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

func newBPE(cfg modelJSON) (*bpe, error) {
	if cfg.Dropout != nil && *cfg.Dropout > 0 {
		// Dropout makes encoding random; inference files never set it.
		return nil, unsupported("model", "BPE", fmt.Sprintf("dropout %v", *cfg.Dropout))
	}
	m := &bpe{
		vocabMap:     cfg.Vocab,
		unkID:        -1,
		fuseUnk:      cfg.FuseUnk,
		byteFallback: cfg.ByteFallback,
		ignoreMerges: cfg.IgnoreMerges,
		cache:        make(map[string][]int64),
	}
	if cfg.ContinuingSubwordPrefix != nil {
		m.prefix = *cfg.ContinuingSubwordPrefix
	}
	if cfg.EndOfWordSuffix != nil {
		m.suffix = *cfg.EndOfWordSuffix
	}
	if cfg.UnkToken != nil && *cfg.UnkToken != "" {
		id, ok := cfg.Vocab[*cfg.UnkToken]
		if !ok {
			return nil, invalidf("BPE unk token %q not in vocab", *cfg.UnkToken)
		}
		m.unkID = int64(id)
	}
	pairs, err := parseMerges(cfg.Merges)
	if err != nil {
		return nil, err
	}
	m.merges = make(map[uint64]bpeMerge, len(pairs))
	for rank, p := range pairs {
		a, ok := cfg.Vocab[p[0]]
		if !ok {
			return nil, errMergeToken("left", p[0], rank)
		}
		b, ok := cfg.Vocab[p[1]]
		if !ok {
			return nil, errMergeToken("right", p[1], rank)
		}
		merged := p[0] + strings.TrimPrefix(p[1], m.prefix)
		id, ok := cfg.Vocab[merged]
		if !ok {
			return nil, errMergeToken("merged", merged, rank)
		}
		key := pairKey(a, b)
		if _, dup := m.merges[key]; !dup { // the first (highest-priority) rank wins
			m.merges[key] = bpeMerge{rank: int32(rank), newID: id}
		}
	}
	return m, nil
}

func (m *bpe) vocab() map[string]int32 { return m.vocabMap }

func (m *bpe) tokenize(dst []int64, word string) []int64 {
	if word == "" {
		return dst
	}
	m.mu.RLock()
	ids, ok := m.cache[word]
	m.mu.RUnlock()
	if ok {
		return append(dst, ids...)
	}
	ids = m.encodeWord(word)
	m.mu.Lock()
	if len(m.cache) < bpeCacheSize {
		// Clone: word may be a slice of a long text we must not pin.
		m.cache[strings.Clone(word)] = ids
	}
	m.mu.Unlock()
	return append(dst, ids...)
}

// bpeSymbol is one node of the doubly linked list a word is merged in.
type bpeSymbol struct {
	id         int32
	prev, next int // -1 at the ends
	dead       bool
}

// encodeWord splits a word into characters (with prefix/suffix decoration)
// and applies merges lowest rank first, leftmost first on ties, the order
// tokenizers' priority queue uses.
func (m *bpe) encodeWord(word string) []int64 {
	if m.ignoreMerges {
		if id, ok := m.vocabMap[word+m.suffix]; ok {
			return []int64{int64(id)}
		}
	}
	syms := make([]bpeSymbol, 0, len(word))
	var unk int64 = -1 // pending unk id when fusing
	var buf []byte
	for i := 0; i < len(word); {
		_, n := utf8.DecodeRuneInString(word[i:])
		buf = buf[:0]
		if i > 0 {
			buf = append(buf, m.prefix...)
		}
		buf = append(buf, word[i:i+n]...)
		if i+n == len(word) {
			buf = append(buf, m.suffix...)
		}
		if id, ok := m.vocabMap[string(buf)]; ok {
			if unk >= 0 {
				syms = append(syms, bpeSymbol{id: int32(unk)})
				unk = -1
			}
			syms = append(syms, bpeSymbol{id: id})
		} else if fb, ok := m.byteFallbackIDs(word[i : i+n]); ok {
			for _, id := range fb {
				syms = append(syms, bpeSymbol{id: id})
			}
		} else if m.unkID >= 0 {
			if unk >= 0 && !m.fuseUnk {
				syms = append(syms, bpeSymbol{id: int32(unk)})
			}
			unk = m.unkID
		}
		// With no unk token, tokenizers silently drops the character.
		i += n
	}
	if unk >= 0 {
		syms = append(syms, bpeSymbol{id: int32(unk)})
	}
	for i := range syms {
		syms[i].prev, syms[i].next = i-1, i+1
	}
	if len(syms) > 0 {
		syms[len(syms)-1].next = -1
	}

	q := make(mergeQueue, 0, len(syms))
	for i := 0; i+1 < len(syms); i++ {
		m.pushMerge(&q, syms, i)
	}
	heap.Init(&q)
	for q.Len() > 0 {
		c := heap.Pop(&q).(mergeCandidate)
		l := &syms[c.pos]
		if l.dead || l.next < 0 || l.id != c.left || syms[l.next].id != c.right {
			continue // stale: one side was merged since this was queued
		}
		r := l.next
		l.id = c.newID
		syms[r].dead = true
		l.next = syms[r].next
		if l.next >= 0 {
			syms[l.next].prev = c.pos
		}
		if l.prev >= 0 {
			m.pushMergeHeap(&q, syms, l.prev)
		}
		if l.next >= 0 {
			m.pushMergeHeap(&q, syms, c.pos)
		}
	}
	out := make([]int64, 0, len(syms))
	for i := 0; i >= 0 && i < len(syms); i = syms[i].next {
		out = append(out, int64(syms[i].id))
	}
	return out
}

func (m *bpe) byteFallbackIDs(char string) ([]int32, bool) {
	if !m.byteFallback {
		return nil, false
	}
	ids := make([]int32, 0, len(char))
	for i := 0; i < len(char); i++ {
		id, ok := m.vocabMap[fmt.Sprintf("<0x%02X>", char[i])]
		if !ok {
			return nil, false
		}
		ids = append(ids, id)
	}
	return ids, true
}

func (m *bpe) candidate(syms []bpeSymbol, pos int) (mergeCandidate, bool) {
	l := syms[pos]
	if l.next < 0 {
		return mergeCandidate{}, false
	}
	r := syms[l.next]
	mg, ok := m.merges[pairKey(l.id, r.id)]
	if !ok {
		return mergeCandidate{}, false
	}
	return mergeCandidate{rank: mg.rank, pos: pos, left: l.id, right: r.id, newID: mg.newID}, true
}

func (m *bpe) pushMerge(q *mergeQueue, syms []bpeSymbol, pos int) {
	if c, ok := m.candidate(syms, pos); ok {
		*q = append(*q, c)
	}
}

func (m *bpe) pushMergeHeap(q *mergeQueue, syms []bpeSymbol, pos int) {
	if c, ok := m.candidate(syms, pos); ok {
		heap.Push(q, c)
	}
}

type mergeCandidate struct {
	rank               int32
	pos                int
	left, right, newID int32
}

type mergeQueue []mergeCandidate

func (q mergeQueue) Len() int { return len(q) }
func (q mergeQueue) Less(i, j int) bool {
	if q[i].rank != q[j].rank {
		return q[i].rank < q[j].rank
	}
	return q[i].pos < q[j].pos
}
func (q mergeQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *mergeQueue) Push(x any)   { *q = append(*q, x.(mergeCandidate)) }
func (q *mergeQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}
