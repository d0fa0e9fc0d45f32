package models

import (
	"context"
	"fmt"
	"io"
	"math"
)

// transformer runs one Transform in two steps: load reads (and parses) the
// source, emit writes the prepared file once the source's checksum is known
// to be right. The split lets one parsed GloVe JSON feed two files.
type transformer struct {
	op    string
	glove bool
	// key identifies the loaded state for reuse within one run: the source
	// digest plus the parameters that shape it.
	key       string
	vocabSize int
	outputs   []GraphOutput
	sourceSHA string
}

// DefaultGloveVocab is how many of the most frequent GloVe words are kept
// when the manifest does not say.
const DefaultGloveVocab = 100000

func newTransformer(t Transform, sourceSHA string) (*transformer, error) {
	tr := &transformer{op: t.Op, sourceSHA: sourceSHA}
	switch t.Op {
	case OpAddOutputs:
		outs, err := parseGraphOutputs(t.Params)
		if err != nil {
			return nil, fmt.Errorf("%w: %s params: %w", ErrTransform, t.Op, err)
		}
		tr.outputs = outs
	case OpGloveToONNX, OpGloveToTokenizer:
		n, err := gloveVocabParam(t.Params)
		if err != nil {
			return nil, fmt.Errorf("%w: %s params: %w", ErrTransform, t.Op, err)
		}
		tr.glove = true
		tr.vocabSize = n
		tr.key = fmt.Sprintf("glove %s %d", sourceSHA, n)
	default:
		return nil, fmt.Errorf("%w: unknown op %q", ErrTransform, t.Op)
	}
	return tr, nil
}

func (t *transformer) load(ctx context.Context, r io.Reader) (any, error) {
	switch {
	case t.glove:
		return parseWink(ctx, r, t.vocabSize)
	default:
		return io.ReadAll(r)
	}
}

func (t *transformer) emit(prepared any, w io.Writer) error {
	switch t.op {
	case OpAddOutputs:
		b, err := AddGraphOutputs(prepared.([]byte), t.outputs...)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	case OpGloveToONNX:
		return prepared.(*gloveTable).writeONNX(w, t.sourceSHA)
	case OpGloveToTokenizer:
		return prepared.(*gloveTable).writeTokenizer(w)
	}
	return fmt.Errorf("unknown op %q", t.op)
}

// gloveVocabParam reads params.vocab_size.
func gloveVocabParam(p map[string]any) (int, error) {
	for k := range p {
		if k != "vocab_size" {
			return 0, fmt.Errorf("unknown parameter %q (want vocab_size)", k)
		}
	}
	v, ok := p["vocab_size"]
	if !ok {
		return DefaultGloveVocab, nil
	}
	n, ok := asInt(v)
	if !ok || n < 1 {
		return 0, fmt.Errorf("vocab_size %v: want a positive integer", v)
	}
	return n, nil
}

// asInt accepts the integer forms YAML and JSON decoders produce.
func asInt(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case int64:
		return int(x), true
	case uint64:
		return int(x), x <= math.MaxInt32
	case float64:
		return int(x), x == math.Trunc(x) && math.Abs(x) < math.MaxInt32
	}
	return 0, false
}
