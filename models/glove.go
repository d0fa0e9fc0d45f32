package models

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"github.com/vitrinehq/vitrine/internal/onnxpb"
)

// Token ids reserved at the start of the GloVe vocabulary.
const (
	GlovePadID    = 0
	GloveUnkID    = 1
	GlovePadToken = "[PAD]"
	GloveUnkToken = "[UNK]"
)

// gloveTable is the kept part of a GloVe file: the most frequent words the
// tokenizer can produce, in frequency order, and their vectors.
type gloveTable struct {
	dim   int
	words []string  // row i+2 of the embedding matrix
	vecs  []float32 // len(words)*dim, row-major
	unk   []float32 // dim values
}

// winkEntry is one vector of the JSON: its word, its frequency rank and
// where its values were stored.
type winkEntry struct {
	word  string
	index int
	off   int
}

// parseWink reads the wink-embeddings JSON ({"dimensions", "l2NormIndex",
// "wordIndex", "words": [...], "vectors": {word: [d floats, l2norm, index]},
// "unkVector": [...]}) in one streaming pass and keeps the vocabSize most
// frequent words a WordLevel tokenizer can produce. Decoding the 300 MB
// document into maps would take about a gigabyte; this keeps only the kept
// rows. When "words" (frequency order) precedes "vectors", as it does in
// the published file, vectors of words that will not be kept are skipped
// without parsing their numbers.
func parseWink(ctx context.Context, r io.Reader, vocabSize int) (*gloveTable, error) {
	p := &winkParser{ctx: ctx, s: &jsonScanner{r: r, buf: make([]byte, 1<<20)}, vocabSize: vocabSize,
		normIdx: -1, wordIdx: -1, row: make([]float32, 0, 128)}
	if err := p.s.members("", "key", p.field); err != nil {
		return nil, err
	}
	return selectGlove(p.dim, p.words, p.keep, p.entries, p.vecs, p.unk, vocabSize)
}

// winkParser is parseWink's state: the header fields read so far and the
// kept vectors.
type winkParser struct {
	ctx                   context.Context
	s                     *jsonScanner
	vocabSize             int
	dim, normIdx, wordIdx int
	words                 []string
	keep                  map[string]bool
	entries               []winkEntry
	vecs, unk, row        []float32
	nvec                  int
}

// field reads the value of one top-level key.
func (p *winkParser) field(key string) error {
	var err error
	switch key {
	case "dimensions", "l2NormIndex", "wordIndex":
		v, err := p.s.readInt()
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		switch key {
		case "dimensions":
			p.dim = v
		case "l2NormIndex":
			p.normIdx = v
		default:
			p.wordIdx = v
		}
	case "words":
		if p.words, err = p.s.readStrings(); err != nil {
			return fmt.Errorf("words: %w", err)
		}
	case "unkVector":
		if p.unk, err = p.s.readFloats(nil); err != nil {
			return fmt.Errorf("unkVector: %w", err)
		}
	case "vectors":
		if p.dim <= 0 {
			return errors.New(`"dimensions" must come before "vectors"`)
		}
		if p.wordIdx < 0 {
			p.wordIdx = max(p.dim, p.normIdx) + 1
		}
		p.keep = keptWords(p.words, p.vocabSize)
		return p.s.members("vectors: ", "word", p.vector)
	default:
		if err := p.s.skipValue(); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
	}
	return nil
}

// keptWords are the vocabSize most frequent reachable words of words
// (frequency order); nil when the words list is not known yet.
func keptWords(words []string, vocabSize int) map[string]bool {
	if words == nil {
		return nil
	}
	keep := map[string]bool{}
	for _, w := range words {
		if len(keep) == vocabSize {
			break
		}
		if WordLevelReachable(w) {
			keep[w] = true
		}
	}
	return keep
}

// vector reads word w's vector, or skips it when w will not be kept.
func (p *winkParser) vector(w string) error {
	if p.nvec++; p.nvec%8192 == 0 && p.ctx.Err() != nil {
		return p.ctx.Err()
	}
	if p.keep != nil && !p.keep[w] {
		if err := p.s.skipArray(); err != nil {
			return fmt.Errorf("vectors[%q]: %w", w, err)
		}
		return nil
	}
	var err error
	if p.row, err = p.s.readFloats(p.row[:0]); err != nil {
		return fmt.Errorf("vectors[%q]: %w", w, err)
	}
	if len(p.row) <= p.wordIdx || len(p.row) < p.dim {
		return fmt.Errorf("vectors[%q]: %d values, want %d floats then l2norm and index", w, len(p.row), p.dim)
	}
	p.entries = append(p.entries, winkEntry{word: w, index: int(p.row[p.wordIdx]), off: len(p.vecs)})
	p.vecs = append(p.vecs, p.row[:p.dim]...)
	return nil
}

// selectGlove orders the parsed vectors by frequency rank, checks them
// against the words list, and keeps the first vocabSize reachable words.
func selectGlove(dim int, words []string, keep map[string]bool, entries []winkEntry, vecs, unk []float32, vocabSize int) (*gloveTable, error) {
	if dim <= 0 || len(entries) == 0 {
		return nil, errors.New("no dimensions or no vectors in the GloVe JSON")
	}
	slices.SortFunc(entries, func(a, b winkEntry) int { return a.index - b.index })
	for i, e := range entries {
		if i > 0 && entries[i-1].index == e.index {
			return nil, fmt.Errorf("words %q and %q share index %d", entries[i-1].word, e.word, e.index)
		}
		if words != nil && (e.index < 0 || e.index >= len(words) || words[e.index] != e.word) {
			return nil, fmt.Errorf("vector of %q has index %d, which is not its place in words", e.word, e.index)
		}
	}
	if keep != nil && len(entries) != len(keep) {
		return nil, fmt.Errorf("%d words kept but only %d of them have vectors", len(keep), len(entries))
	}
	t := &gloveTable{dim: dim, unk: make([]float32, dim)}
	copy(t.unk, unk)
	for _, e := range entries {
		if len(t.words) == vocabSize {
			break
		}
		if !WordLevelReachable(e.word) {
			continue
		}
		t.words = append(t.words, e.word)
		t.vecs = append(t.vecs, vecs[e.off:e.off+dim]...)
	}
	return t, nil
}

// WordLevelReachable reports whether a Lowercase normalizer followed by a
// BertPreTokenizer (split on whitespace and on each punctuation character)
// can ever produce w as one token. Vocabulary entries such as "e-mail" or
// "n't" cannot, and keeping them would waste rows.
func WordLevelReachable(w string) bool {
	if w == "" || !utf8.ValidString(w) || strings.ToLower(w) != w {
		return false
	}
	single := utf8.RuneCountInString(w) == 1
	for _, r := range w {
		if unicode.IsSpace(r) || (!single && isBertPunct(r)) {
			return false
		}
	}
	return true
}

// isBertPunct is BERT's notion of punctuation: every ASCII non-alphanumeric
// printable character, plus Unicode category P.
func isBertPunct(r rune) bool {
	if r >= 33 && r <= 47 || r >= 58 && r <= 64 || r >= 91 && r <= 96 || r >= 123 && r <= 126 {
		return true
	}
	return unicode.IsPunct(r)
}

// writeONNX writes the static-embedding graph: Gather rows of the embedding
// matrix for input_ids, then a mean over the positions attention_mask marks,
// with the count clamped to 1 so an all-padding row gives zeros, not NaN.
func (t *gloveTable) writeONNX(w io.Writer, sourceSHA string) error {
	v := len(t.words) + 2
	raw := make([]byte, v*t.dim*4)
	put := func(row int, vals []float32) {
		for j, x := range vals {
			binary.LittleEndian.PutUint32(raw[(row*t.dim+j)*4:], math.Float32bits(x))
		}
	}
	put(GloveUnkID, t.unk)
	for i := range t.words {
		put(i+2, t.vecs[i*t.dim:(i+1)*t.dim])
	}
	f32, i64 := int32(onnxpb.TensorProto_FLOAT), int32(onnxpb.TensorProto_INT64)
	m := &onnxpb.ModelProto{
		IrVersion:    8,
		OpsetImport:  []*onnxpb.OperatorSetIdProto{{Domain: "", Version: 13}},
		ProducerName: "vitrine",
		DocString:    "Static word embeddings (GloVe) with masked mean pooling, built by vitrine's glove_to_onnx transform. Row 0 is padding, row 1 the unknown word.",
		MetadataProps: []*onnxpb.StringStringEntryProto{
			{Key: "vitrine.source_sha256", Value: sourceSHA},
			{Key: "vitrine.vocab_size", Value: strconv.Itoa(v)},
			{Key: "vitrine.pad_id", Value: strconv.Itoa(GlovePadID)},
			{Key: "vitrine.unk_id", Value: strconv.Itoa(GloveUnkID)},
		},
		Graph: &onnxpb.GraphProto{
			Name: "glove_static_embedding",
			Initializer: []*onnxpb.TensorProto{
				{Name: "embeddings", DataType: f32, Dims: []int64{int64(v), int64(t.dim)}, RawData: raw},
				{Name: "seq_axis", DataType: i64, Dims: []int64{1}, Int64Data: []int64{1}},
				{Name: "last_axis", DataType: i64, Dims: []int64{1}, Int64Data: []int64{2}},
				{Name: "one", DataType: f32, FloatData: []float32{1}},
			},
			Node: []*onnxpb.NodeProto{
				onnxNode("Gather", []string{"embeddings", "input_ids"}, "token_embeddings", attrInt("axis", 0)),
				onnxNode("Cast", []string{"attention_mask"}, "mask", attrInt("to", int64(f32))),
				onnxNode("Unsqueeze", []string{"mask", "last_axis"}, "mask_3d"),
				onnxNode("Mul", []string{"token_embeddings", "mask_3d"}, "masked_embeddings"),
				onnxNode("ReduceSum", []string{"masked_embeddings", "seq_axis"}, "sum_embeddings", attrInt("keepdims", 0)),
				onnxNode("ReduceSum", []string{"mask", "seq_axis"}, "token_count", attrInt("keepdims", 1)),
				onnxNode("Max", []string{"token_count", "one"}, "divisor"),
				onnxNode("Div", []string{"sum_embeddings", "divisor"}, "sentence_embedding"),
			},
			Input: []*onnxpb.ValueInfoProto{
				tensorInfo("input_ids", i64, "batch", "sequence"),
				tensorInfo("attention_mask", i64, "batch", "sequence"),
			},
			Output: []*onnxpb.ValueInfoProto{
				tensorInfo("sentence_embedding", f32, "batch", t.dim),
			},
		},
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return fmt.Errorf("write ONNX model: %w", err)
	}
	_, err = w.Write(b)
	return err
}

func onnxNode(op string, in []string, out string, attrs ...*onnxpb.AttributeProto) *onnxpb.NodeProto {
	return &onnxpb.NodeProto{OpType: op, Name: out + "_" + op, Input: in, Output: []string{out}, Attribute: attrs}
}

func attrInt(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: name, Type: onnxpb.AttributeProto_INT, I: v}
}

// tensorInfo describes a tensor; dims are sizes (int) or symbolic names.
func tensorInfo(name string, elem int32, dims ...any) *onnxpb.ValueInfoProto {
	shape := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		dim := &onnxpb.TensorShapeProto_Dimension{}
		switch x := d.(type) {
		case string:
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: x}
		case int:
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(x)}
		}
		shape.Dim = append(shape.Dim, dim)
	}
	return &onnxpb.ValueInfoProto{Name: name, Type: &onnxpb.TypeProto{
		Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{ElemType: elem, Shape: shape}},
	}}
}

// writeTokenizer writes a Hugging Face tokenizer.json whose WordLevel
// vocabulary matches the embedding rows. It is written by hand rather than
// from maps so the vocabulary stays in id order and the bytes are stable.
func (t *gloveTable) writeTokenizer(w io.Writer) error {
	var b bytes.Buffer
	b.WriteString(`{
  "version": "1.0",
  "truncation": null,
  "padding": {
    "strategy": "BatchLongest",
    "direction": "Right",
    "pad_to_multiple_of": null,
    "pad_id": 0,
    "pad_type_id": 0,
    "pad_token": "[PAD]"
  },
  "added_tokens": [
    {"id": 0, "content": "[PAD]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 1, "content": "[UNK]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}
  ],
  "normalizer": {"type": "Lowercase"},
  "pre_tokenizer": {"type": "BertPreTokenizer"},
  "post_processor": null,
  "decoder": null,
  "model": {
    "type": "WordLevel",
    "unk_token": "[UNK]",
    "vocab": {
      "[PAD]": 0,
      "[UNK]": 1`)
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	for i, word := range t.words {
		b.WriteString(",\n      ")
		if err := enc.Encode(word); err != nil {
			return err
		}
		b.Truncate(b.Len() - 1) // Encode's newline
		b.WriteString(": ")
		b.WriteString(strconv.Itoa(i + 2))
	}
	b.WriteString("\n    }\n  }\n}\n")
	_, err := w.Write(b.Bytes())
	return err
}

// jsonScanner is a minimal streaming JSON reader for parseWink.
type jsonScanner struct {
	r    io.Reader
	buf  []byte
	i, n int
	off  int64 // bytes before buf[0], for error messages
	err  error
	raw  []byte
}

func (s *jsonScanner) fill() error {
	if s.i < s.n {
		return nil
	}
	if s.err != nil {
		return s.err
	}
	s.off += int64(s.n)
	n, err := s.r.Read(s.buf)
	s.i, s.n = 0, n
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		s.err = err
	}
	if n > 0 {
		return nil
	}
	if s.err == nil {
		return s.fill() // a reader may return 0, nil
	}
	return s.err
}

func (s *jsonScanner) errorf(format string, args ...any) error {
	return fmt.Errorf("GloVe JSON at byte %d: %s", s.off+int64(s.i), fmt.Sprintf(format, args...))
}

// members reads a JSON object, calling fn with each member's key once the
// scanner is at its value; fn reads the value. prefix and what word the
// syntax errors ("vectors: ", "word").
func (s *jsonScanner) members(prefix, what string, fn func(key string) error) error {
	if err := s.expect('{'); err != nil {
		return err
	}
	for first := true; ; first = false {
		c, err := s.nonWS()
		if err != nil {
			return err
		}
		if c == '}' && first {
			return nil
		}
		if c != '"' {
			return s.errorf("%swant a %s, got %q", prefix, what, c)
		}
		key, err := s.readString()
		if err != nil {
			return err
		}
		if err := s.expect(':'); err != nil {
			return err
		}
		if err := fn(key); err != nil {
			return err
		}
		if c, err = s.nonWS(); err != nil {
			return err
		}
		if c == '}' {
			return nil
		}
		if c != ',' {
			return s.errorf("%swant , or }, got %q", prefix, c)
		}
	}
}

// nonWS returns the next byte that is not white space.
func (s *jsonScanner) nonWS() (byte, error) {
	for {
		if err := s.fill(); err != nil {
			return 0, err
		}
		c := s.buf[s.i]
		s.i++
		if c != ' ' && c != '\n' && c != '\r' && c != '\t' {
			return c, nil
		}
	}
}

func (s *jsonScanner) expect(want byte) error {
	c, err := s.nonWS()
	if err != nil {
		return err
	}
	if c != want {
		return s.errorf("want %q, got %q", want, c)
	}
	return nil
}

// readString reads a string whose opening quote was consumed.
func (s *jsonScanner) readString() (string, error) {
	s.raw = s.raw[:0]
	escaped := false
	for {
		if err := s.fill(); err != nil {
			return "", err
		}
		seg := s.buf[s.i:s.n]
		if !escaped && len(s.raw) == 0 {
			// Fast path: the whole string is in the buffer, no escapes.
			if j := bytes.IndexByte(seg, '"'); j >= 0 && bytes.IndexByte(seg[:j], '\\') < 0 {
				s.i += j + 1
				return string(seg[:j]), nil
			}
		}
		for k, c := range seg {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				s.raw = append(s.raw, seg[:k]...)
				s.i += k + 1
				var out string
				if err := json.Unmarshal(append(append([]byte{'"'}, s.raw...), '"'), &out); err != nil {
					return "", s.errorf("bad string: %v", err)
				}
				return out, nil
			}
		}
		s.raw = append(s.raw, seg...)
		s.i = s.n
	}
}

func isNumByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

// readNumber returns the text of a number; valid until the next call.
func (s *jsonScanner) readNumber() ([]byte, error) {
	if _, err := s.nonWS(); err != nil {
		return nil, err
	}
	s.i-- // nonWS consumed the first byte; it is still in buf
	s.raw = s.raw[:0]
	for {
		if err := s.fill(); err != nil {
			return nil, err
		}
		seg := s.buf[s.i:s.n]
		k := 0
		for k < len(seg) && isNumByte(seg[k]) {
			k++
		}
		s.raw = append(s.raw, seg[:k]...)
		s.i += k
		if k < len(seg) {
			if len(s.raw) == 0 {
				return nil, s.errorf("want a number, got %q", seg[0])
			}
			return s.raw, nil
		}
	}
}

func (s *jsonScanner) readInt() (int, error) {
	b, err := s.readNumber()
	if err != nil {
		return 0, err
	}
	v, err := strconv.Atoi(string(b))
	if err != nil {
		return 0, s.errorf("want an integer: %v", err)
	}
	return v, nil
}

// readFloats reads an array of numbers, appending to dst.
func (s *jsonScanner) readFloats(dst []float32) ([]float32, error) {
	if err := s.expect('['); err != nil {
		return nil, err
	}
	for first := true; ; first = false {
		c, err := s.nonWS()
		if err != nil {
			return nil, err
		}
		if c == ']' && first {
			return dst, nil
		}
		s.i--
		b, err := s.readNumber()
		if err != nil {
			return nil, err
		}
		v, err := strconv.ParseFloat(string(b), 32)
		if err != nil {
			return nil, s.errorf("%v", err)
		}
		dst = append(dst, float32(v))
		c, err = s.nonWS()
		if err != nil {
			return nil, err
		}
		if c == ']' {
			return dst, nil
		}
		if c != ',' {
			return nil, s.errorf("want , or ], got %q", c)
		}
	}
}

func (s *jsonScanner) readStrings() ([]string, error) {
	if err := s.expect('['); err != nil {
		return nil, err
	}
	var out []string
	for first := true; ; first = false {
		c, err := s.nonWS()
		if err != nil {
			return nil, err
		}
		if c == ']' && first {
			return out, nil
		}
		if c != '"' {
			return nil, s.errorf("want a string, got %q", c)
		}
		w, err := s.readString()
		if err != nil {
			return nil, err
		}
		out = append(out, w)
		c, err = s.nonWS()
		if err != nil {
			return nil, err
		}
		if c == ']' {
			return out, nil
		}
		if c != ',' {
			return nil, s.errorf("want , or ], got %q", c)
		}
	}
}

// skipArray skips an array of numbers without parsing them.
func (s *jsonScanner) skipArray() error {
	if err := s.expect('['); err != nil {
		return err
	}
	for {
		if err := s.fill(); err != nil {
			return err
		}
		seg := s.buf[s.i:s.n]
		if j := bytes.IndexByte(seg, ']'); j >= 0 {
			if bytes.ContainsAny(seg[:j], "[{\"") {
				return s.errorf("vector is not a flat array of numbers")
			}
			s.i += j + 1
			return nil
		}
		if bytes.ContainsAny(seg, "[{\"") {
			return s.errorf("vector is not a flat array of numbers")
		}
		s.i = s.n
	}
}

// skipValue skips any JSON value.
func (s *jsonScanner) skipValue() error {
	c, err := s.nonWS()
	if err != nil {
		return err
	}
	switch {
	case c == '"':
		_, err := s.readString()
		return err
	case c == '{' || c == '[':
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		for first := true; ; first = false {
			d, err := s.nonWS()
			if err != nil {
				return err
			}
			if d == closer && first {
				return nil
			}
			s.i--
			if c == '{' {
				if err := s.expect('"'); err != nil {
					return err
				}
				if _, err := s.readString(); err != nil {
					return err
				}
				if err := s.expect(':'); err != nil {
					return err
				}
			}
			if err := s.skipValue(); err != nil {
				return err
			}
			d, err = s.nonWS()
			if err != nil {
				return err
			}
			if d == closer {
				return nil
			}
			if d != ',' {
				return s.errorf("want , or %q, got %q", closer, d)
			}
		}
	case c == 't' || c == 'f' || c == 'n':
		for {
			if err := s.fill(); err != nil {
				return err
			}
			if d := s.buf[s.i]; d < 'a' || d > 'z' {
				return nil
			}
			s.i++
		}
	default:
		s.i--
		_, err := s.readNumber()
		return err
	}
}
