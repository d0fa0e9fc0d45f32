package extractors

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"

	"github.com/vitrinehq/vitrine/extractors/onnx"
	"github.com/vitrinehq/vitrine/extractors/tokenizer"
	"github.com/vitrinehq/vitrine/models"
)

// textEncoder runs a tokenizer and a text graph: a static-embedding model
// ([N,D] out) or a BERT-family encoder (last_hidden_state [N,L,D] pooled by
// mean or CLS). Batches are padded to their longest item, not the maximum.
type textEncoder struct {
	m      models.Manifest
	tok    *tokenizer.Tokenizer
	sess   *onnx.Session
	roles  []string // input roles in session order
	maxLen int
	// batches recycles the token tensors' buffers between calls, so that
	// tokenising allocates nothing once they have grown.
	batches sync.Pool
}

func openText(ctx context.Context, rt *onnx.Runtime, m models.Manifest, dir string, _ Options) (*textEncoder, error) {
	tp := m.Preprocess.Text
	if tp == nil {
		return nil, fmt.Errorf("manifest %s: preprocess.text missing", m.Name)
	}
	tok, err := tokenizer.LoadFile(ctx, filepath.Join(dir, tp.Tokenizer), tokenizer.WithMaxLength(tp.MaxLength))
	if err != nil {
		return nil, err
	}
	var roles, names []string
	for _, role := range []string{"input_ids", "attention_mask", "token_type_ids"} {
		if n, ok := m.Inputs[role]; ok {
			roles, names = append(roles, role), append(names, n)
		}
	}
	if len(roles) == 0 || roles[0] != "input_ids" {
		return nil, fmt.Errorf("manifest %s: inputs need an input_ids role", m.Name)
	}
	out, err := tensorName(m, m.Outputs, "embedding", "output")
	if err != nil {
		return nil, err
	}
	sess, err := rt.OpenSession(ctx, filepath.Join(dir, m.Graph()), onnx.WithInputNames(names...), onnx.WithOutputNames(out))
	if err != nil {
		return nil, err
	}
	return &textEncoder{m: m, tok: tok, sess: sess, roles: roles, maxLen: tp.MaxLength,
		batches: sync.Pool{New: func() any { return new(tokenizer.Batch) }}}, nil
}

// prepare tokenises the batch; the returned run feeds the model and pools.
func (t *textEncoder) prepare(_ context.Context, inputs [][]byte) (runFunc, error) {
	errs := make([]error, len(inputs))
	texts := make([]string, 0, len(inputs))
	idx := make([]int, 0, len(inputs))
	for i, in := range inputs {
		s := strings.TrimSpace(string(in))
		if s == "" {
			errs[i] = fmt.Errorf("%w: text is empty", ErrEmptyInput)
			continue
		}
		texts, idx = append(texts, s), append(idx, i)
	}
	vecs := make([][]float32, len(inputs))
	if len(texts) == 0 {
		return func(context.Context) ([][]float32, []error, error) { return vecs, errs, nil }, nil
	}
	b := t.batches.Get().(*tokenizer.Batch)
	t.tok.EncodeBatchInto(b, texts, tokenizer.BatchOptions{MaxLength: t.maxLen})
	return func(ctx context.Context) ([][]float32, []error, error) {
		defer t.batches.Put(b)
		pooled, err := t.run(ctx, b)
		if err != nil {
			return nil, nil, err
		}
		for j, i := range idx {
			vecs[i] = pooled[j]
		}
		return vecs, errs, nil
	}, nil
}

// run feeds a tokenised batch to the graph and pools its output.
func (t *textEncoder) run(ctx context.Context, b *tokenizer.Batch) ([][]float32, error) {
	shape := b.Shape()
	feeds := make([]onnx.Tensor, len(t.roles))
	for i, role := range t.roles {
		switch role {
		case "input_ids":
			feeds[i] = onnx.Int64Tensor(shape, b.InputIDs)
		case "attention_mask":
			feeds[i] = onnx.Int64Tensor(shape, b.AttentionMask)
		case "token_type_ids":
			feeds[i] = onnx.Int64Tensor(shape, b.TokenTypeIDs)
		}
	}
	outs, err := t.sess.Run(ctx, feeds)
	if err != nil {
		return nil, err
	}
	return pool(t.m, outs[0], b.AttentionMask, b.SeqLen)
}

func (t *textEncoder) provider() onnx.Provider { return t.sess.Provider() }

func (t *textEncoder) close() error { return t.sess.Close() }

// pool turns a model output into one vector per item according to the
// manifest: none ([N,D]), mean over unmasked tokens or cls ([N,L,D]),
// spatial_mean ([N,C,H,W]).
func pool(m models.Manifest, out onnx.Tensor, mask []int64, seqLen int) ([][]float32, error) {
	shape := out.Shape()
	data := out.Float32s()
	if data == nil {
		return nil, fmt.Errorf("model %s: output is %s, want float32", m.Key(), out.Type())
	}
	n := int(shape[0])
	res := make([][]float32, n)
	switch m.Pooling {
	case "none", "":
		if len(shape) != 2 {
			return nil, fmt.Errorf("model %s: pooling none needs a [N,D] output, got %v", m.Key(), shape)
		}
		d := int(shape[1])
		for i := range n {
			res[i] = append([]float32(nil), data[i*d:(i+1)*d]...)
		}
	case "mean", "cls":
		if len(shape) != 3 {
			return nil, fmt.Errorf("model %s: pooling %s needs a [N,L,D] output, got %v", m.Key(), m.Pooling, shape)
		}
		l, d := int(shape[1]), int(shape[2])
		for i := range n {
			v := make([]float32, d)
			if m.Pooling == "cls" {
				copy(v, data[i*l*d:i*l*d+d])
				res[i] = v
				continue
			}
			var cnt float32
			for j := range l {
				if mask != nil && mask[i*seqLen+j] == 0 {
					continue
				}
				row := data[(i*l+j)*d : (i*l+j+1)*d]
				for k, x := range row {
					v[k] += x
				}
				cnt++
			}
			if cnt > 0 {
				for k := range v {
					v[k] /= cnt
				}
			}
			res[i] = v
		}
	case models.PoolSpatialGeM:
		return spatialGeM(m, shape, data)
	case "spatial_mean":
		if len(shape) != 4 {
			return nil, fmt.Errorf("model %s: pooling spatial_mean needs a [N,C,H,W] output, got %v", m.Key(), shape)
		}
		c, hw := int(shape[1]), int(shape[2]*shape[3])
		for i := range n {
			v := make([]float32, c)
			for ch := range c {
				var s float32
				for _, x := range data[(i*c+ch)*hw : (i*c+ch+1)*hw] {
					s += x
				}
				v[ch] = s / float32(hw)
			}
			res[i] = v
		}
	default:
		return nil, fmt.Errorf("model %s: unknown pooling %q", m.Key(), m.Pooling)
	}
	return res, nil
}
