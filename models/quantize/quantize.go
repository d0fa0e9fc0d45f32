// Package quantize compresses an fp32 ONNX encoder by int8 dynamic
// quantisation of its MatMul and Gemm weights, the part of a transformer
// that holds most parameters outside the embedding tables and does most
// of the arithmetic.
//
// Each MatMul (or Gemm) whose weight is a constant fp32 matrix becomes one
// com.microsoft DynamicQuantizeMatMul node, which ONNX Runtime's CPU
// provider runs as a single kernel: it quantises the activation to uint8
// per call (scale and zero point from the batch's own range), multiplies
// by the int8 weight with MLAS's u8s8 GEMM and rescales to float. Weights
// are quantised symmetrically (zero point 0, so none is stored) with one
// float scale per output column; ONNX Runtime 1.24 accepts a [N] b_scale
// for this op, which the standard MatMulInteger pattern cannot give
// without a second Mul and a per-column int8 zero-point tensor. A bias
// Add that directly follows a MatMul is folded into the op's bias input,
// so it stays fp32 and costs no extra node.
//
// Everything else stays fp32: see Report.FP32 for what remained and why.
package quantize

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/vitrinehq/vitrine/internal/onnxpb"
)

// MSDomain is the operator domain of ONNX Runtime's contrib ops.
const MSDomain = "com.microsoft"

// OpDynamicQuantizeMatMul is the op every quantised weight is read by.
const OpDynamicQuantizeMatMul = "DynamicQuantizeMatMul"

var (
	// ErrModel marks bytes that are not a usable ONNX model.
	ErrModel = errors.New("unusable ONNX model")
	// ErrNoWeights means no MatMul or Gemm had a weight that could be
	// quantised, so an int8 copy would be the same model under a new name.
	ErrNoWeights = errors.New("no MatMul or Gemm weight to quantise")
)

type options struct {
	perTensor   bool
	reduceRange bool
	minElements int
}

// Option configures Model and Install.
type Option func(*options)

// WithPerTensor quantises each weight with one scale instead of one per
// output column: 4 bytes less per column, at a cost in accuracy when
// columns differ in range, as trained weights usually do.
func WithPerTensor() Option { return func(o *options) { o.perTensor = true } }

// WithReduceRange quantises weights to 7 bits ([-64, 64]). On x86 CPUs with
// AVX2 but no VNNI, MLAS multiplies u8 by s8 with VPMADDUBSW, whose int16
// pair sums saturate for 8-bit weights (255·127·2 > 32767); 7-bit weights
// cannot saturate. CPUs with AVX-VNNI or AVX512-VNNI do not need it.
func WithReduceRange() Option { return func(o *options) { o.reduceRange = true } }

// WithMinElements leaves weights with fewer than n values in fp32: for a
// tiny matrix the per-column scales and the run-time activation
// quantisation cost more than the int8 product saves.
func WithMinElements(n int) Option { return func(o *options) { o.minElements = n } }

// Weight is one quantised weight matrix.
type Weight struct {
	Name  string   // the fp32 initializer
	Nodes []string // the nodes that now read its int8 form
	// Rows and Cols are K and N of the product x[...,K]·W[K,N] (a Gemm with
	// transB has its weight transposed into this layout).
	Rows, Cols int
	// Scales is the number of float scales stored: Cols, or 1 per tensor.
	Scales int
	// FP32Bytes is the weight's size before, Int8Bytes after: int8 values
	// plus float32 scales.
	FP32Bytes, Int8Bytes int64
	// MaxAbsError is the largest |w - scale·q| over the matrix.
	MaxAbsError float64
	// FP32Kept is set when another node still reads the fp32 original
	// (a tied embedding, say), so the file keeps both.
	FP32Kept bool
}

// Ratio is Int8Bytes / FP32Bytes.
func (w Weight) Ratio() float64 { return float64(w.Int8Bytes) / float64(w.FP32Bytes) }

// Skip is a MatMul or Gemm node left in fp32, and why.
type Skip struct {
	Node, OpType, Reason string
}

// OpCount is one op type of the quantised graph that still computes in
// fp32, how many nodes have it, and why it was not quantised.
type OpCount struct {
	OpType string
	Count  int
	Reason string
}

// Report says what Model did.
type Report struct {
	Weights []Weight // in graph order
	Skipped []Skip   // MatMul and Gemm nodes left alone
	// FP32 lists the op types of the output graph outside
	// DynamicQuantizeMatMul, in order of first appearance.
	FP32 []OpCount
	// FoldedBias counts bias Adds folded into DynamicQuantizeMatMul.
	FoldedBias int
	// BytesBefore and BytesAfter are the serialized model sizes.
	BytesBefore, BytesAfter int64
}

// WeightBytes sums the quantised weights' sizes before and after.
func (r *Report) WeightBytes() (fp32, int8 int64) {
	for _, w := range r.Weights {
		fp32 += w.FP32Bytes
		int8 += w.Int8Bytes
	}
	return fp32, int8
}

// Model quantises the MatMul and Gemm weights of a serialized fp32 ONNX
// model and returns the new model. Output is deterministic: the same
// model and options always give the same bytes. Only the main graph is
// rewritten; nodes inside subgraphs (If, Loop) are left as they are.
func Model(ctx context.Context, model []byte, opts ...Option) ([]byte, *Report, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(model, &m); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrModel, err)
	}
	g := m.GetGraph()
	if g == nil {
		return nil, nil, fmt.Errorf("%w: no graph", ErrModel)
	}
	q := newQuantizer(g, o)
	q.report.BytesBefore = int64(len(model))
	for i, n := range slices.Clone(g.Node) {
		// Large weights take a while to quantise; stay cancellable.
		if i%32 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, nil, err
			}
		}
		if err := q.node(n); err != nil {
			return nil, nil, err
		}
	}
	if len(q.report.Weights) == 0 {
		return nil, q.report, fmt.Errorf("%w: %s", ErrNoWeights, q.skipSummary())
	}
	q.finish()
	if !slices.ContainsFunc(m.OpsetImport, func(s *onnxpb.OperatorSetIdProto) bool { return s.GetDomain() == MSDomain }) {
		m.OpsetImport = append(m.OpsetImport, &onnxpb.OperatorSetIdProto{Domain: MSDomain, Version: 1})
	}
	out, err := proto.MarshalOptions{Deterministic: true}.Marshal(&m)
	if err != nil {
		return nil, nil, fmt.Errorf("write model: %w", err)
	}
	q.report.BytesAfter = int64(len(out))
	q.report.FP32 = fp32Ops(g, q.report.Skipped)
	return out, q.report, nil
}

// quantizer rewrites one graph in place.
type quantizer struct {
	g      *onnxpb.GraphProto
	o      options
	report *Report

	inits     map[string]*onnxpb.TensorProto
	graphIn   map[string]bool // graph inputs: an initializer listed here can be overridden at run time
	graphOut  map[string]bool
	consumers map[string][]*onnxpb.NodeProto
	subgraph  map[string]bool // names read from inside subgraphs
	taken     map[string]bool // every tensor name, for fresh ones

	done    map[string]int // weight key -> index in report.Weights
	qnames  map[string][2]string
	sources map[string]bool // initializers that may now be unused
	folded  map[*onnxpb.NodeProto]bool
	dropped map[string]bool // tensors no node produces any more
	added   []*onnxpb.TensorProto
}

func newQuantizer(g *onnxpb.GraphProto, o options) *quantizer {
	q := &quantizer{
		g: g, o: o, report: &Report{},
		inits: map[string]*onnxpb.TensorProto{}, graphIn: map[string]bool{}, graphOut: map[string]bool{},
		consumers: map[string][]*onnxpb.NodeProto{}, subgraph: map[string]bool{}, taken: map[string]bool{},
		done: map[string]int{}, qnames: map[string][2]string{}, sources: map[string]bool{},
		folded: map[*onnxpb.NodeProto]bool{}, dropped: map[string]bool{},
	}
	for _, t := range g.Initializer {
		q.inits[t.GetName()] = t
		q.taken[t.GetName()] = true
	}
	for _, v := range g.Input {
		q.graphIn[v.GetName()] = true
		q.taken[v.GetName()] = true
	}
	for _, v := range g.Output {
		q.graphOut[v.GetName()] = true
	}
	for _, n := range g.Node {
		for _, in := range n.Input {
			q.consumers[in] = append(q.consumers[in], n)
		}
		for _, out := range n.Output {
			q.taken[out] = true
		}
		for _, a := range n.Attribute {
			for _, sg := range append([]*onnxpb.GraphProto{a.GetG()}, a.GetGraphs()...) {
				subgraphNames(sg, q.subgraph)
			}
		}
	}
	return q
}

// subgraphNames collects every name a subgraph (and its own subgraphs)
// reads, so weights an If or Loop body uses from the outer scope are
// never removed.
func subgraphNames(g *onnxpb.GraphProto, into map[string]bool) {
	if g == nil {
		return
	}
	for _, n := range g.Node {
		for _, in := range n.Input {
			into[in] = true
		}
		for _, a := range n.Attribute {
			for _, sg := range append([]*onnxpb.GraphProto{a.GetG()}, a.GetGraphs()...) {
				subgraphNames(sg, into)
			}
		}
	}
	for _, o := range g.Output {
		into[o.GetName()] = true
	}
}

func (q *quantizer) fresh(name string) string {
	n := name
	for i := 1; q.taken[n]; i++ {
		n = fmt.Sprintf("%s_%d", name, i)
	}
	q.taken[n] = true
	return n
}

func (q *quantizer) skip(n *onnxpb.NodeProto, format string, args ...any) {
	q.report.Skipped = append(q.report.Skipped, Skip{Node: n.GetName(), OpType: n.GetOpType(), Reason: fmt.Sprintf(format, args...)})
}

func (q *quantizer) skipSummary() string {
	if len(q.report.Skipped) == 0 {
		return "the graph has no MatMul or Gemm node"
	}
	reasons := map[string]int{}
	var order []string
	for _, s := range q.report.Skipped {
		if reasons[s.Reason] == 0 {
			order = append(order, s.Reason)
		}
		reasons[s.Reason]++
	}
	parts := make([]string, len(order))
	for i, r := range order {
		parts[i] = fmt.Sprintf("%d× %s", reasons[r], r)
	}
	return strings.Join(parts, "; ")
}

// constant returns the fp32 initializer called name, or why it cannot be
// used as a constant weight.
func (q *quantizer) constant(name string) (*onnxpb.TensorProto, string) {
	t, ok := q.inits[name]
	switch {
	case !ok:
		return nil, "weight is computed at run time (activation × activation, as attention scores and context are)"
	case q.graphIn[name]:
		return nil, "weight is also a graph input, so a caller may override it"
	case t.GetDataType() != int32(onnxpb.TensorProto_FLOAT):
		return nil, fmt.Sprintf("weight is %s, not FLOAT", onnxpb.TensorProto_DataType(t.GetDataType()))
	case t.GetDataLocation() == onnxpb.TensorProto_EXTERNAL:
		return nil, "weight is stored as external data"
	}
	return t, ""
}

func (q *quantizer) node(n *onnxpb.NodeProto) error {
	if d := n.GetDomain(); d != "" && d != "ai.onnx" {
		return nil
	}
	switch n.GetOpType() {
	case "MatMul":
		return q.matMul(n)
	case "Gemm":
		return q.gemm(n)
	}
	return nil
}

// matrixWeight returns the constant 2-D weight (second input) of a MatMul
// or Gemm worth quantising, or nil after recording why the node is skipped
// (rankWhy completes the message for a weight that is not a matrix).
func (q *quantizer) matrixWeight(n *onnxpb.NodeProto, rankWhy string) *onnxpb.TensorProto {
	if _, ok := q.inits[n.Input[0]]; ok {
		q.skip(n, "both inputs are constant (a constant-folding job, not a quantisation one)")
		return nil
	}
	w, why := q.constant(n.Input[1])
	if w == nil {
		q.skip(n, "%s", why)
		return nil
	}
	if len(w.Dims) != 2 {
		q.skip(n, "weight has rank %d; %s", len(w.Dims), rankWhy)
		return nil
	}
	if size := w.Dims[0] * w.Dims[1]; size < int64(max(q.o.minElements, 1)) {
		q.skip(n, "weight has %d values, fewer than the %d worth quantising", size, q.o.minElements)
		return nil
	}
	return w
}

func (q *quantizer) matMul(n *onnxpb.NodeProto) error {
	if len(n.Input) != 2 || len(n.Output) != 1 {
		q.skip(n, "malformed: want 2 inputs and 1 output")
		return nil
	}
	w := q.matrixWeight(n, "only [K,N] matrices are quantised")
	if w == nil {
		return nil
	}
	c := int(w.Dims[1])
	qw, scale, err := q.weight(n, w, false, 1)
	if err != nil {
		return err
	}
	inputs := []string{n.Input[0], qw, scale}
	out := n.Output[0]
	// Fold a bias Add that is the product's only reader into the op: the
	// bias is added in fp32 either way, and one node is cheaper than two.
	if add, bias := q.biasAdd(out, c); add != nil {
		inputs = append(inputs, "", bias)
		q.folded[add] = true
		q.dropped[out] = true
		out = add.Output[0]
		q.report.FoldedBias++
	}
	q.rewrite(n, inputs, out)
	return nil
}

// biasAdd returns the Add that alone reads the product y and adds a
// constant fp32 [N] vector to it, with that vector's name.
func (q *quantizer) biasAdd(y string, cols int) (*onnxpb.NodeProto, string) {
	readers := q.consumers[y]
	if len(readers) != 1 || q.graphOut[y] || q.subgraph[y] {
		return nil, ""
	}
	add := readers[0]
	if add.GetOpType() != "Add" || (add.GetDomain() != "" && add.GetDomain() != "ai.onnx") || len(add.Input) != 2 || len(add.Output) != 1 {
		return nil, ""
	}
	other := add.Input[0]
	if other == y {
		other = add.Input[1]
	}
	if other == y {
		return nil, "" // y + y
	}
	b, _ := q.constant(other)
	if b == nil || len(b.Dims) != 1 || b.Dims[0] != int64(cols) {
		return nil, ""
	}
	return add, other
}

func (q *quantizer) gemm(n *onnxpb.NodeProto) error {
	if len(n.Input) < 2 || len(n.Output) != 1 {
		q.skip(n, "malformed: want 2 or 3 inputs and 1 output")
		return nil
	}
	alpha, beta := float32(1), float32(1)
	var transA, transB int64
	for _, a := range n.Attribute {
		switch a.GetName() {
		case "alpha":
			alpha = a.GetF()
		case "beta":
			beta = a.GetF()
		case "transA":
			transA = a.GetI()
		case "transB":
			transB = a.GetI()
		}
	}
	if transA != 0 {
		q.skip(n, "transA=1: the activation is transposed, which DynamicQuantizeMatMul cannot do")
		return nil
	}
	w := q.matrixWeight(n, "Gemm takes [K,N]")
	if w == nil {
		return nil
	}
	cols := int(w.Dims[1])
	if transB != 0 {
		cols = int(w.Dims[0])
	}
	var bias string
	var biasVals []float32
	if len(n.Input) > 2 && n.Input[2] != "" {
		c, _ := q.constant(n.Input[2])
		if c == nil {
			q.skip(n, "C is not a constant fp32 tensor")
			return nil
		}
		vals, err := floats(c)
		if err != nil {
			return fmt.Errorf("%s: C: %w", n.GetName(), err)
		}
		switch {
		case len(vals) == 1 && len(c.Dims) <= 1:
			biasVals = slices.Repeat(vals, cols)
		case len(vals) == cols && (len(c.Dims) == 1 || len(c.Dims) == 2 && c.Dims[0] == 1):
			biasVals = vals
			if beta == 1 && len(c.Dims) == 1 {
				bias = c.GetName() // usable as it is
			}
		default:
			q.skip(n, "C has shape %v; only a bias broadcast along rows ([N], [1,N] or a scalar) can be folded", c.Dims)
			return nil
		}
		if bias == "" {
			for i := range biasVals {
				biasVals[i] *= beta
			}
			bias = q.fresh(c.GetName() + "_bias")
			q.added = append(q.added, floatTensor(bias, []int64{int64(cols)}, biasVals))
			q.sources[c.GetName()] = true
		}
	}
	qw, scale, err := q.weight(n, w, transB != 0, alpha)
	if err != nil {
		return err
	}
	inputs := []string{n.Input[0], qw, scale}
	if bias != "" {
		inputs = append(inputs, "", bias)
	}
	q.rewrite(n, inputs, n.Output[0])
	return nil
}

// rewrite turns n into a DynamicQuantizeMatMul in place, so the node keeps
// its position in the (topologically sorted) node list.
func (q *quantizer) rewrite(n *onnxpb.NodeProto, inputs []string, out string) {
	n.OpType = OpDynamicQuantizeMatMul
	n.Domain = MSDomain
	n.Input = inputs
	n.Output = []string{out}
	n.Attribute = nil
}

// weight quantises w (transposed first when trans, scaled by alpha) once
// and returns the names of its int8 values and scales.
func (q *quantizer) weight(n *onnxpb.NodeProto, w *onnxpb.TensorProto, trans bool, alpha float32) (string, string, error) {
	key := fmt.Sprintf("%s|%t|%g", w.GetName(), trans, alpha)
	if i, ok := q.done[key]; ok {
		q.report.Weights[i].Nodes = append(q.report.Weights[i].Nodes, n.GetName())
		names := q.qnames[key]
		return names[0], names[1], nil
	}
	vals, err := floats(w)
	if err != nil {
		return "", "", fmt.Errorf("%s: weight %s: %w", n.GetName(), w.GetName(), err)
	}
	rows, cols := int(w.Dims[0]), int(w.Dims[1])
	if trans {
		vals, rows, cols = transpose(vals, rows, cols), cols, rows
	}
	if alpha != 1 {
		for i := range vals {
			vals[i] *= alpha
		}
	}
	qmax := float32(127)
	if q.o.reduceRange {
		qmax = 64
	}
	qv, scales, maxErr := symmetric(vals, rows, cols, !q.o.perTensor, qmax)

	qname, sname := q.fresh(w.GetName()+"_quantized"), q.fresh(w.GetName()+"_scale")
	raw := make([]byte, len(qv))
	for i, v := range qv {
		raw[i] = byte(v)
	}
	q.added = append(q.added, &onnxpb.TensorProto{Name: qname, DataType: int32(onnxpb.TensorProto_INT8),
		Dims: []int64{int64(rows), int64(cols)}, RawData: raw})
	var sdims []int64 // a scalar per tensor
	if len(scales) > 1 {
		sdims = []int64{int64(len(scales))}
	}
	q.added = append(q.added, floatTensor(sname, sdims, scales))
	q.sources[w.GetName()] = true

	q.done[key] = len(q.report.Weights)
	q.qnames[key] = [2]string{qname, sname}
	q.report.Weights = append(q.report.Weights, Weight{
		Name: w.GetName(), Nodes: []string{n.GetName()}, Rows: rows, Cols: cols, Scales: len(scales),
		FP32Bytes: int64(4 * len(vals)), Int8Bytes: int64(len(qv) + 4*len(scales)), MaxAbsError: maxErr,
	})
	return qname, sname, nil
}

// finish drops folded Adds, fp32 weights nothing reads any more and stale
// shape annotations, and appends the new initializers.
func (q *quantizer) finish() {
	nodes := q.g.Node[:0]
	for _, n := range q.g.Node {
		if !q.folded[n] {
			nodes = append(nodes, n)
		}
	}
	clear(q.g.Node[len(nodes):])
	q.g.Node = nodes

	read := map[string]bool{}
	for _, n := range q.g.Node {
		for _, in := range n.Input {
			read[in] = true
		}
	}
	used := func(name string) bool { return read[name] || q.graphOut[name] || q.subgraph[name] }
	q.g.Initializer = slices.DeleteFunc(q.g.Initializer, func(t *onnxpb.TensorProto) bool {
		return q.sources[t.GetName()] && !used(t.GetName())
	})
	for i, w := range q.report.Weights {
		q.report.Weights[i].FP32Kept = used(w.Name)
	}
	q.g.ValueInfo = slices.DeleteFunc(q.g.ValueInfo, func(v *onnxpb.ValueInfoProto) bool { return q.dropped[v.GetName()] })
	q.g.Initializer = append(q.g.Initializer, q.added...)
}

// symmetric quantises the row-major [rows][cols] matrix w to int8 in
// [-qmax, qmax] with zero point 0: one scale per column when perColumn,
// else one for the whole matrix. A column of zeros gets scale 1 (any scale
// represents it exactly). It returns the values, the scales and the
// largest |w - scale·q|. Rounding is half to even, as ONNX's
// QuantizeLinear rounds.
func symmetric(w []float32, rows, cols int, perColumn bool, qmax float32) ([]int8, []float32, float64) {
	amax := make([]float32, cols)
	for r := range rows {
		for c, v := range w[r*cols : (r+1)*cols] {
			amax[c] = max(amax[c], float32(math.Abs(float64(v))))
		}
	}
	if !perColumn {
		amax = []float32{slices.Max(append(amax, 0))}
	}
	scales := make([]float32, len(amax))
	for i, a := range amax {
		scales[i] = 1
		if a > 0 {
			scales[i] = a / qmax
		}
	}
	q := make([]int8, len(w))
	var maxErr float64
	for r := range rows {
		for c := range cols {
			s := scales[0]
			if perColumn {
				s = scales[c]
			}
			v := w[r*cols+c]
			x := math.RoundToEven(float64(v / s))
			x = max(-float64(qmax), min(float64(qmax), x))
			q[r*cols+c] = int8(x)
			maxErr = max(maxErr, math.Abs(float64(v)-float64(s)*x))
		}
	}
	return q, scales, maxErr
}

func transpose(w []float32, rows, cols int) []float32 {
	out := make([]float32, len(w))
	for r := range rows {
		for c := range cols {
			out[c*rows+r] = w[r*cols+c]
		}
	}
	return out
}

// floats decodes an fp32 initializer held inline (raw_data or float_data).
func floats(t *onnxpb.TensorProto) ([]float32, error) {
	n := int64(1)
	for _, d := range t.Dims {
		if d < 0 || (d > 0 && n > math.MaxInt32/d) {
			return nil, fmt.Errorf("%w: tensor %s has shape %v", ErrModel, t.GetName(), t.Dims)
		}
		n *= d
	}
	if raw := t.GetRawData(); len(raw) > 0 || len(t.GetFloatData()) == 0 {
		if int64(len(raw)) != 4*n {
			return nil, fmt.Errorf("%w: tensor %s: %d raw bytes for shape %v", ErrModel, t.GetName(), len(raw), t.Dims)
		}
		out := make([]float32, n)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		return out, nil
	}
	if int64(len(t.GetFloatData())) != n {
		return nil, fmt.Errorf("%w: tensor %s: %d values for shape %v", ErrModel, t.GetName(), len(t.GetFloatData()), t.Dims)
	}
	return slices.Clone(t.GetFloatData()), nil
}

func floatTensor(name string, dims []int64, vals []float32) *onnxpb.TensorProto {
	raw := make([]byte, 4*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return &onnxpb.TensorProto{Name: name, DataType: int32(onnxpb.TensorProto_FLOAT), Dims: dims, RawData: raw}
}

// fp32Ops counts the output graph's op types other than
// DynamicQuantizeMatMul, with the reason each stayed fp32.
func fp32Ops(g *onnxpb.GraphProto, skipped []Skip) []OpCount {
	var out []OpCount
	idx := map[string]int{}
	for _, n := range g.Node {
		op := n.GetOpType()
		if op == OpDynamicQuantizeMatMul && n.GetDomain() == MSDomain {
			continue
		}
		if i, ok := idx[op]; ok {
			out[i].Count++
			continue
		}
		idx[op] = len(out)
		out = append(out, OpCount{OpType: op, Count: 1, Reason: fp32Reason(op, skipped)})
	}
	return out
}

// fp32Reason says why an op type is left in fp32. MatMul and Gemm get
// their reasons from the nodes that were skipped.
func fp32Reason(op string, skipped []Skip) string {
	switch op {
	case "MatMul", "Gemm":
		var reasons []string
		for _, s := range skipped {
			if s.OpType == op && !slices.Contains(reasons, s.Reason) {
				reasons = append(reasons, s.Reason)
			}
		}
		return strings.Join(reasons, "; ")
	case "Gather":
		return "table lookup (embeddings, CLS pick): no multiply to speed up, and int8 rows would need a dequantise per lookup while every layer inherits their precision"
	case "LayerNormalization":
		return "mean and variance need the activations' full float range; its weights are only 2×hidden values"
	case "Softmax":
		return "exponentials of attention scores need float range; it has no weights"
	case "Conv":
		return "ONNX Runtime's dynamic ConvInteger path has no per-channel weights and is not faster on CPU; convolutions want static (calibrated) quantisation"
	case "Erf", "Tanh", "Sigmoid", "Relu", "Gelu", "Clip":
		return "element-wise activation: no weights, memory-bound"
	case "Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Where", "Equal", "Not":
		return "element-wise arithmetic: no weights, memory-bound, so int8 would only add quantise and dequantise steps"
	case "Reshape", "Transpose", "Shape", "Slice", "Unsqueeze", "Squeeze", "Concat", "Split", "Identity", "Cast",
		"Expand", "Flatten", "Range", "ConstantOfShape", "Constant":
		return "moves or reshapes data: nothing to quantise"
	case "ReduceMean", "ReduceSum", "ReduceMax", "GlobalAveragePool", "AveragePool", "MaxPool":
		return "reduction or pooling: no weights"
	}
	return "not a MatMul or Gemm: only those are dynamically quantised"
}
