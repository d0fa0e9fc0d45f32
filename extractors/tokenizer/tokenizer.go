// Package tokenizer reads Hugging Face tokenizer.json files and turns text
// into the int64 tensors (input_ids, attention_mask, token_type_ids) that
// ONNX text encoders take.
//
// It implements the pipeline of the Rust tokenizers library for the
// components Vitrine's encoders use (BERT WordPiece, WordLevel, byte-level
// BPE for GPT-2/CLIP) and fails at load time, with an
// *UnsupportedComponentError, on anything else: a silently different
// tokenisation would degrade embeddings without any error.
//
// github.com/sugarme/tokenizer was evaluated first and not used: v0.3.0
// reads the all-MiniLM-L6-v2 file but ignores strip_accents=null
// ("Café crème" becomes [UNK] [UNK] instead of cafe cr ##eme), and the
// module that ships that file pins a patched fork of it with a replace
// directive, which cannot be consumed as a dependency.
//
// A Tokenizer is immutable after loading and safe for concurrent use.
package tokenizer

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"unicode/utf8"
)

// Tokenizer encodes text as model inputs. Build one with LoadFile or
// FromJSON.
type Tokenizer struct {
	addedRaw  *addedMatcher // added tokens matched on the raw text
	addedNorm *addedMatcher // added tokens matched after normalisation
	norm      normalizer    // nil: identity
	pre       preTokenizer  // nil: the whole segment is one word
	model     model
	post      *postProcessor

	maxLength int // content+special tokens per row; 0 means no limit
	truncLeft bool
	strategy  truncationStrategy

	padID, padTypeID int64
	padLeft          bool

	vocabSize int
	tokens    map[string]int64 // model vocab plus added tokens
	idTokens  []string

	scratch *scratchPool
}

// maxVocabID bounds token ids (16M; the largest real vocabularies are ~256k).
const maxVocabID = 1 << 24

type truncationStrategy int

const (
	longestFirst truncationStrategy = iota
	onlyFirst
	onlySecond
)

// Encoding is one encoded text (or pair), without padding.
type Encoding struct {
	InputIDs      []int64
	AttentionMask []int64
	TokenTypeIDs  []int64
}

// Batch holds a padded batch as flat row-major [Size*SeqLen] slices, the
// layout ONNX Runtime tensors are built from.
type Batch struct {
	InputIDs      []int64
	AttentionMask []int64
	TokenTypeIDs  []int64
	Size          int // rows
	SeqLen        int // columns: the longest row, not the maximum length
}

// Shape is the [batch, sequence] tensor shape of the batch.
func (b Batch) Shape() []int64 { return []int64{int64(b.Size), int64(b.SeqLen)} }

// Pair is a text pair for cross-encoders, encoded as sequences A and B of
// the file's pair template.
type Pair struct {
	A, B string
}

// BatchOptions adjusts one EncodeBatch call.
type BatchOptions struct {
	// MaxLength caps every row, special tokens included. 0 keeps the
	// tokenizer's default (WithMaxLength, else the file's truncation
	// section); a negative value turns truncation off for this call.
	MaxLength int
}

// Option configures a Tokenizer at load time.
type Option func(*settings)

type settings struct {
	maxLength *int
	padToken  string
}

// WithMaxLength sets the default maximum row length, special tokens
// included, overriding the file's truncation section. n <= 0 turns
// truncation off. Pass the encoder's maximum sequence length: longer rows
// overflow its position embeddings.
func WithMaxLength(n int) Option {
	return func(s *settings) { s.maxLength = &n }
}

// WithPadToken pads with this token's id instead of the file's padding
// section, [PAD] or <pad>. Loading fails if the token is unknown.
func WithPadToken(token string) Option {
	return func(s *settings) { s.padToken = token }
}

// LoadFile reads and parses a tokenizer.json file.
func LoadFile(ctx context.Context, path string, opts ...Option) (*Tokenizer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t, err := FromJSON(data, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

type fileJSON struct {
	AddedTokens []struct {
		ID         int64  `json:"id"`
		Content    string `json:"content"`
		SingleWord bool   `json:"single_word"`
		LStrip     bool   `json:"lstrip"`
		RStrip     bool   `json:"rstrip"`
		Normalized bool   `json:"normalized"`
	} `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	Model         json.RawMessage `json:"model"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Truncation    *struct {
		MaxLength int    `json:"max_length"`
		Direction string `json:"direction"`
		Strategy  string `json:"strategy"`
	} `json:"truncation"`
	Padding *struct {
		Direction string `json:"direction"`
		PadID     *int64 `json:"pad_id"`
		PadTypeID int64  `json:"pad_type_id"`
	} `json:"padding"`
}

// FromJSON parses the contents of a tokenizer.json file.
func FromJSON(data []byte, opts ...Option) (*Tokenizer, error) {
	var set settings
	for _, o := range opts {
		o(&set)
	}
	var f fileJSON
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, invalidf("%v", err)
	}
	t := &Tokenizer{scratch: newScratchPool()}
	var err error
	if t.norm, err = buildNormalizer(f.Normalizer); err != nil {
		return nil, err
	}
	if t.pre, err = buildPreTokenizer(f.PreTokenizer); err != nil {
		return nil, err
	}
	if t.model, err = buildModel(f.Model); err != nil {
		return nil, err
	}
	if t.post, err = buildPostProcessor(f.PostProcessor); err != nil {
		return nil, err
	}
	if err := t.buildVocab(f); err != nil {
		return nil, err
	}
	t.setTruncation(f, set)
	if err := t.setPadding(f, set); err != nil {
		return nil, err
	}
	return t, nil
}

// buildVocab merges the model's vocabulary with the added tokens, builds
// the id -> token table and checks the post-processor's special ids
// against it.
func (t *Tokenizer) buildVocab(f fileJSON) error {
	t.tokens = make(map[string]int64, len(t.model.vocab())+len(f.AddedTokens))
	for tok, id := range t.model.vocab() {
		t.tokens[tok] = int64(id)
	}
	var raw, normalized []addedToken
	for _, at := range f.AddedTokens {
		if at.Content == "" || at.ID < 0 {
			return invalidf("added token %q with id %d", at.Content, at.ID)
		}
		t.tokens[at.Content] = at.ID
		tok := addedToken{content: at.Content, id: at.ID, lstrip: at.LStrip, rstrip: at.RStrip, singleWord: at.SingleWord}
		if at.Normalized && t.norm != nil {
			// Normalised tokens are looked for in normalised text, so their
			// content is normalised the same way (tokenizers does this too).
			tok.content = t.norm.normalize(at.Content)
			if tok.content == "" {
				continue
			}
			normalized = append(normalized, tok)
		} else {
			raw = append(raw, tok)
		}
	}
	t.addedRaw, t.addedNorm = newAddedMatcher(raw), newAddedMatcher(normalized)

	for _, id := range t.tokens {
		t.vocabSize = max(t.vocabSize, int(id)+1)
	}
	if t.vocabSize > maxVocabID {
		// The id -> token table is dense; a stray huge id would make it
		// gigabytes. Real vocabularies stay far below this.
		return invalidf("token id %d is implausibly large", t.vocabSize-1)
	}
	t.idTokens = make([]string, t.vocabSize)
	for tok, id := range t.tokens {
		t.idTokens[id] = tok
	}
	for _, tmpl := range [][]templatePiece{t.post.single, t.post.pair} {
		for _, p := range tmpl {
			for _, id := range p.ids {
				// An id past the vocabulary would index past the model's
				// embedding table at inference time.
				if id < 0 || id >= int64(t.vocabSize) {
					return invalidf("post_processor special token id %d outside vocab of %d", id, t.vocabSize)
				}
			}
		}
	}

	return nil
}

// setTruncation reads the file's truncation section; WithMaxLength
// overrides its length.
func (t *Tokenizer) setTruncation(f fileJSON, set settings) {
	if f.Truncation != nil {
		t.maxLength = f.Truncation.MaxLength
		t.truncLeft = f.Truncation.Direction == "Left"
		switch f.Truncation.Strategy {
		case "OnlyFirst":
			t.strategy = onlyFirst
		case "OnlySecond":
			t.strategy = onlySecond
		}
	}
	if set.maxLength != nil {
		t.maxLength = max(*set.maxLength, 0)
	}

}

// setPadding picks the pad id (WithPadToken, else the file's padding
// section, else a conventional pad token, else 0) and the padding side.
func (t *Tokenizer) setPadding(f fileJSON, set settings) error {
	switch {
	case set.padToken != "":
		id, ok := t.tokens[set.padToken]
		if !ok {
			return invalidf("pad token %q not in vocab", set.padToken)
		}
		t.padID = id
	case f.Padding != nil && f.Padding.PadID != nil:
		t.padID = *f.Padding.PadID
	default:
		// Files without a padding section: fall back to the conventional
		// names, else 0, which the zero attention mask hides anyway.
		for _, name := range []string{"[PAD]", "<pad>"} {
			if id, ok := t.tokens[name]; ok {
				t.padID = id
				break
			}
		}
	}
	if f.Padding != nil {
		t.padTypeID = f.Padding.PadTypeID
		t.padLeft = f.Padding.Direction == "Left"
	}
	if t.padID < 0 || t.padID >= int64(t.vocabSize) {
		return invalidf("pad id %d outside vocab of %d", t.padID, t.vocabSize)
	}
	return nil
}

// VocabSize is one more than the largest id the tokenizer can emit.
func (t *Tokenizer) VocabSize() int { return t.vocabSize }

// MaxLength is the default maximum row length (0: no truncation).
func (t *Tokenizer) MaxLength() int { return t.maxLength }

// PadID is the id written into padding positions.
func (t *Tokenizer) PadID() int64 { return t.padID }

// TokenID looks a token up in the vocabulary and added tokens.
func (t *Tokenizer) TokenID(token string) (int64, bool) {
	id, ok := t.tokens[token]
	return id, ok
}

// Token is the vocabulary entry for id, for debugging and tests.
func (t *Tokenizer) Token(id int64) (string, bool) {
	if id < 0 || id >= int64(len(t.idTokens)) {
		return "", false
	}
	return t.idTokens[id], t.idTokens[id] != ""
}

// Encode tokenizes one text with special tokens, truncated to the default
// maximum length. Empty text gives just the special tokens.
func (t *Tokenizer) Encode(text string) Encoding {
	s := t.scratch.get()
	defer t.scratch.put(s)
	s.reset()
	t.encodeSingle(s, text, t.maxLength)
	return newEncoding(s.ids, s.types)
}

// EncodePair tokenizes a text pair with the file's pair template, truncated
// to the default maximum length.
func (t *Tokenizer) EncodePair(a, b string) Encoding {
	s := t.scratch.get()
	defer t.scratch.put(s)
	s.reset()
	t.encodePair(s, a, b, t.maxLength)
	return newEncoding(s.ids, s.types)
}

// newEncoding copies one row out of the scratch buffers.
func newEncoding(ids, types []int64) Encoding {
	mask := make([]int64, len(ids))
	for i := range mask {
		mask[i] = 1
	}
	return Encoding{InputIDs: slices.Clone(ids), AttentionMask: mask, TokenTypeIDs: slices.Clone(types)}
}

// EncodeBatch tokenizes texts, truncates each to the maximum length and
// pads every row to the longest one in the batch.
func (t *Tokenizer) EncodeBatch(texts []string, opts BatchOptions) Batch {
	var b Batch
	t.EncodeBatchInto(&b, texts, opts)
	return b
}

// EncodeBatchInto is EncodeBatch writing into dst, whose slices are reused
// when their capacity suffices: a caller that keeps one Batch per worker
// (or in a sync.Pool) tokenizes without allocating once the buffers have
// grown to its batch and sequence sizes. dst's previous contents are
// overwritten.
func (t *Tokenizer) EncodeBatchInto(dst *Batch, texts []string, opts BatchOptions) {
	maxLen := t.batchMaxLength(opts)
	s := t.scratch.get()
	defer t.scratch.put(s)
	s.reset()
	for _, text := range texts {
		t.encodeSingle(s, text, maxLen)
	}
	t.pad(dst, s)
}

// EncodePairBatch is EncodeBatch for text pairs.
func (t *Tokenizer) EncodePairBatch(pairs []Pair, opts BatchOptions) Batch {
	maxLen := t.batchMaxLength(opts)
	s := t.scratch.get()
	defer t.scratch.put(s)
	s.reset()
	for _, p := range pairs {
		t.encodePair(s, p.A, p.B, maxLen)
	}
	var b Batch
	t.pad(&b, s)
	return b
}

func (t *Tokenizer) batchMaxLength(opts BatchOptions) int {
	switch {
	case opts.MaxLength > 0:
		return opts.MaxLength
	case opts.MaxLength < 0:
		return 0
	default:
		return t.maxLength
	}
}

// pad lays the rows of s out in b, padded to the longest.
func (t *Tokenizer) pad(b *Batch, s *scratch) {
	seq, start := 0, 0
	for _, end := range s.ends {
		seq = max(seq, end-start)
		start = end
	}
	n := len(s.ends) * seq
	b.InputIDs = resize(b.InputIDs, n)
	b.AttentionMask = resize(b.AttentionMask, n)
	b.TokenTypeIDs = resize(b.TokenTypeIDs, n)
	b.Size, b.SeqLen = len(s.ends), seq
	start = 0
	for i, end := range s.ends {
		ids, types := s.ids[start:end], s.types[start:end]
		start = end
		base := i * seq
		off := base
		if t.padLeft {
			off = base + seq - len(ids)
		}
		for k := base; k < base+seq; k++ {
			b.InputIDs[k] = t.padID
			b.TokenTypeIDs[k] = t.padTypeID
			b.AttentionMask[k] = 0
		}
		copy(b.InputIDs[off:], ids)
		copy(b.TokenTypeIDs[off:], types)
		for k := off; k < off+len(ids); k++ {
			b.AttentionMask[k] = 1
		}
	}
}

// resize returns s with length n, reusing its array when it is big enough.
func resize(s []int64, n int) []int64 {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]int64, n)
}

// contentLimit is how many model tokens fit beside the special tokens, or
// -1 for no limit. A limit below the number of special tokens leaves just
// the special tokens (tokenizers would fail; over-long input must not).
func (t *Tokenizer) contentLimit(maxLen int, isPair bool) int {
	if maxLen <= 0 {
		return -1
	}
	return max(maxLen-t.post.added(isPair), 0)
}

// encodeSingle appends one templated row to s.ids and s.types.
func (t *Tokenizer) encodeSingle(s *scratch, text string, maxLen int) {
	limit := t.contentLimit(maxLen, false)
	var content []int64
	if t.truncLeft {
		content = t.content(s, s.content[:0], text, -1)
		s.content = content[:0]
		if limit >= 0 && len(content) > limit {
			content = content[len(content)-limit:]
		}
	} else {
		// Right truncation keeps a prefix, so tokenizing can stop early:
		// a long description costs no more than max_length tokens of work.
		content = t.content(s, s.content[:0], text, limit)
		s.content = content[:0]
	}
	s.ids, s.types = t.post.apply(s.ids, s.types, content, nil, false)
	s.ends = append(s.ends, len(s.ids))
}

// encodePair appends one templated pair row to s.ids and s.types.
func (t *Tokenizer) encodePair(s *scratch, a, b string, maxLen int) {
	ca := t.content(s, s.content[:0], a, -1)
	cb := t.content(s, s.contentB[:0], b, -1)
	s.content, s.contentB = ca[:0], cb[:0]
	if limit := t.contentLimit(maxLen, true); limit >= 0 && len(ca)+len(cb) > limit {
		na, nb := t.pairLengths(len(ca), len(cb), limit)
		ca, cb = t.keep(ca, na), t.keep(cb, nb)
	}
	s.ids, s.types = t.post.apply(s.ids, s.types, ca, cb, true)
	s.ends = append(s.ends, len(s.ids))
}

// pairLengths follows tokenizers' truncate_encodings. OnlyFirst/OnlySecond
// fall back to LongestFirst where tokenizers would return an error.
func (t *Tokenizer) pairLengths(n1, n2, limit int) (int, int) {
	remove := n1 + n2 - limit
	switch {
	case t.strategy == onlyFirst && n1 > remove:
		return n1 - remove, n2
	case t.strategy == onlySecond && n2 > remove:
		return n1, n2 - remove
	}
	swap := n1 > n2
	if swap {
		n1, n2 = n2, n1
	}
	if n1 > limit {
		n2 = n1
	} else {
		n2 = max(n1, limit-n1)
	}
	if n1+n2 > limit {
		n1 = limit / 2
		n2 = n1 + limit%2
	}
	if swap {
		n1, n2 = n2, n1
	}
	return n1, n2
}

func (t *Tokenizer) keep(ids []int64, n int) []int64 {
	if len(ids) <= n {
		return ids
	}
	if t.truncLeft {
		return ids[len(ids)-n:]
	}
	return ids[:n]
}

// content runs added-token matching, normalisation, pre-tokenisation and
// the model, appending ids to dst. With limit >= 0 it stops once limit ids
// were produced. It works in s's buffers (not s.ids, s.types or the
// content buffers, which callers pass as dst).
func (t *Tokenizer) content(s *scratch, dst []int64, text string, limit int) []int64 {
	base := len(dst)
	if limit == 0 || text == "" {
		return dst
	}
	if !utf8.ValidString(text) {
		// Rust strings are valid UTF-8 by construction; match what a
		// lossy conversion would give.
		text = strings.ToValidUTF8(text, "\uFFFD")
	}
	full := func() bool { return limit >= 0 && len(dst)-base >= limit }
	s.raw = t.addedRaw.split(s.raw[:0], text)
	for _, seg := range s.raw {
		if seg.id >= 0 {
			if dst = append(dst, seg.id); full() {
				return dst[:base+limit]
			}
			continue
		}
		normalized := t.normalize(s, seg.text)
		s.subs = t.addedNorm.split(s.subs[:0], normalized)
		for _, sub := range s.subs {
			if sub.id >= 0 {
				if dst = append(dst, sub.id); full() {
					return dst[:base+limit]
				}
				continue
			}
			if t.pre == nil {
				s.words = append(s.words[:0], sub.text)
			} else {
				s.words = t.pre.split(s.words[:0], sub.text)
			}
			for _, w := range s.words {
				if w == "" {
					continue // tokenizers drops empty splits
				}
				if dst = t.model.tokenize(dst, w); full() {
					return dst[:base+limit]
				}
			}
		}
	}
	return dst
}

// normalize runs the normalizer on one segment, into s.norm when the
// normalizer supports it (the result then lives until the next call).
func (t *Tokenizer) normalize(s *scratch, text string) string {
	switch n := t.norm.(type) {
	case nil:
		return text
	case bufferedNormalizer:
		return n.normalizeInto(&s.norm, text)
	default:
		return n.normalize(text)
	}
}
